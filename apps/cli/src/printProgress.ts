/**
 * printProgress prints a daemon's JSON-lines progress (pull, push) as docker's
 * `jsonmessage.DisplayJSONMessagesStream` does:
 * - not a terminal: one `id: status` line per status change; progress-bar updates are skipped;
 * - a terminal: one line per layer ID, rewritten in place (cursor up, clear line) with the
 *   progress bar, so layers update side by side.
 * An error line ends the stream with that error.
 *
 * @since 0.1.0
 */
import type { JSONMessage } from "@berth/api";

/** ProgressOutput is where progress goes: a stream, a terminal when `isTTY` is true. */
export interface ProgressOutput {
  write(s: string): unknown;
  readonly isTTY?: boolean;
}

/** progressText renders one message as docker's Display does: `id: status progress`. */
export function progressText(msg: JSONMessage): string {
  const parts: string[] = [];
  if (msg.id) parts.push(`${msg.id}: `);
  parts.push(msg.status ?? "");
  if (typeof msg.progress === "string" && msg.progress !== "") parts.push(` ${msg.progress}`);
  return parts.join("");
}

/**
 * TerminalProgress keeps one line per layer ID and rewrites it in place with ANSI cursor moves,
 * as docker does in a terminal.
 */
export class TerminalProgress {
  readonly #ids = new Map<string, number>();
  constructor(private readonly out: ProgressOutput) {}

  /** show displays one message. */
  show(msg: JSONMessage): void {
    if (msg.id === undefined || msg.id === "") {
      this.#ids.clear();
      if (typeof msg.status === "string") this.out.write(`${msg.status}\n`);
      return;
    }
    let line = this.#ids.get(msg.id);
    if (line === undefined) {
      line = this.#ids.size;
      this.#ids.set(msg.id, line);
      this.out.write(`${progressText(msg)}\n`);
      return;
    }
    const up = this.#ids.size - line;
    this.out.write(`\x1b[${up}A\r\x1b[2K${progressText(msg)}\r\x1b[${up}B`);
  }
}

/** printProgress consumes `stream`, writing to `out` unless `quiet`; returns the aux payloads. */
export async function printProgress(
  stream: AsyncIterable<Uint8Array | string>,
  out: ProgressOutput,
  quiet: boolean,
): Promise<unknown[]> {
  const { decodeJSONLines, jsonMessageError, JSONMessageError } = await import("@berth/api");
  const aux: unknown[] = [];
  const terminal = out.isTTY === true ? new TerminalProgress(out) : undefined;
  for await (const msg of decodeJSONLines<JSONMessage>(stream)) {
    const text = jsonMessageError(msg);
    if (text !== undefined) throw new JSONMessageError({ message: text });
    if (msg.aux !== undefined) aux.push(msg.aux);
    if (quiet || typeof msg.status !== "string") continue;
    if (terminal !== undefined) {
      terminal.show(msg);
      continue;
    }
    const hasProgress =
      (typeof msg.progress === "string" && msg.progress !== "") ||
      (msg.progressDetail !== undefined && Object.keys(msg.progressDetail).length > 0);
    if (hasProgress) continue;
    out.write(msg.id ? `${msg.id}: ${msg.status}\n` : `${msg.status}\n`);
  }
  return aux;
}
