/**
 * printProgress prints a daemon's JSON-lines progress (pull, push) as docker does when stdout is
 * not a terminal: one `id: status` line per status change, progress-bar lines skipped; an error
 * line ends the stream with that error.
 *
 * @since 0.1.0
 */
import type { JSONMessage } from "@berth/api";

/** printProgress consumes `stream`, writing lines to `out` unless `quiet`; returns the aux payloads. */
export async function printProgress(
  stream: AsyncIterable<Uint8Array | string>,
  out: NodeJS.WritableStream,
  quiet: boolean,
): Promise<unknown[]> {
  const { decodeJSONLines, jsonMessageError, JSONMessageError } = await import("@berth/api");
  const aux: unknown[] = [];
  for await (const msg of decodeJSONLines<JSONMessage>(stream)) {
    const text = jsonMessageError(msg);
    if (text !== undefined) throw new JSONMessageError({ message: text });
    if (msg.aux !== undefined) aux.push(msg.aux);
    if (quiet || typeof msg.status !== "string") continue;
    const hasProgress =
      (typeof msg.progress === "string" && msg.progress !== "") ||
      (msg.progressDetail !== undefined && Object.keys(msg.progressDetail).length > 0);
    if (hasProgress) continue;
    out.write(msg.id ? `${msg.id}: ${msg.status}\n` : `${msg.status}\n`);
  }
  return aux;
}
