/**
 * AttachIO: connects a hijacked attach stream to this process's terminal, as docker's
 * hijackedIOStreamer does: container output to stdout/stderr, stdin (when attached) to the
 * container with a half-close at EOF, raw mode for `-t` on a terminal (restored on every exit
 * path), the detach key sequence (default ctrl-p,ctrl-q) detected on the client side, terminal
 * size sync via `containerResize` (and SIGWINCH forwarding), and signal proxying for non-TTY runs.
 *
 * @since 0.1.0
 */
import type { AttachStream, Client } from "@berth/client";

/** DEFAULT_DETACH_KEYS is docker's default detach sequence. */
export const DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q";

/** parseDetachKeys turns `ctrl-p,ctrl-q` into bytes; throws on a bad key like docker's term.ToBytes. */
export function parseDetachKeys(keys: string): number[] {
  const out: number[] = [];
  for (const raw of keys.split(",")) {
    const key = raw.trim();
    if (key.length > 1 && key.startsWith("ctrl-")) {
      const c = key.slice(5);
      if (c.length !== 1) throw new Error(`Unknown character: '${key}'`);
      const lower = c.toLowerCase();
      if (lower >= "a" && lower <= "z") out.push(lower.charCodeAt(0) - 96);
      else if (c === "@") out.push(0);
      else if (c === "[") out.push(27);
      else if (c === "\\") out.push(28);
      else if (c === "]") out.push(29);
      else if (c === "^") out.push(30);
      else if (c === "_") out.push(31);
      else throw new Error(`Unknown character: '${key}'`);
    } else if (key.length === 1) {
      out.push(key.charCodeAt(0));
    } else {
      throw new Error(`Unknown character: '${key}'`);
    }
  }
  return out;
}

/**
 * EscapeProxy scans input for the detach sequence: bytes that may start the sequence are held
 * back, released if the sequence breaks, and `detached` is set when it completes.
 */
export class EscapeProxy {
  private held: number[] = [];
  detached = false;
  constructor(private readonly keys: readonly number[]) {}

  /** push filters one chunk; returns the bytes to forward. */
  push(chunk: Uint8Array): Buffer {
    const out: number[] = [];
    for (const b of chunk) {
      if (this.detached) break;
      if (b === this.keys[this.held.length]) {
        this.held.push(b);
        if (this.held.length === this.keys.length) {
          this.detached = true;
          this.held = [];
        }
        continue;
      }
      out.push(...this.held);
      this.held = [];
      if (b === this.keys[0]) this.held.push(b);
      else out.push(b);
    }
    return Buffer.from(out);
  }
}

/** StreamOptions configure {@link streamAttach}. */
export interface StreamOptions {
  readonly client: Client;
  readonly id: string;
  readonly attach: AttachStream;
  readonly tty: boolean;
  readonly stdin: boolean;
  readonly detachKeys?: string | undefined;
}

/** StreamResult tells how the attachment ended. */
export interface StreamResult {
  /** true when the user typed the detach sequence. */
  readonly detached: boolean;
}

/**
 * streamAttach pumps the attach stream until the daemon closes it (or the user detaches).
 * Call {@link TerminalSession.start} first when `-t` is used so raw mode is already on.
 */
export async function streamAttach(opts: StreamOptions): Promise<StreamResult> {
  const { attach } = opts;
  let detached = false;
  let onDetach: (() => void) | undefined;
  const detachPromise = new Promise<void>((resolve) => {
    onDetach = resolve;
  });
  const cleanup: Array<() => void> = [];

  if (opts.stdin) {
    const keys = parseDetachKeys(opts.detachKeys || DEFAULT_DETACH_KEYS);
    const proxy = opts.tty ? new EscapeProxy(keys) : undefined;
    const stdin = process.stdin;
    const onData = (chunk: Buffer): void => {
      const data = proxy ? proxy.push(chunk) : chunk;
      if (data.length > 0) attach.stdin.write(data);
      if (proxy?.detached) {
        detached = true;
        onDetach?.();
      }
    };
    const onEnd = (): void => {
      // end() lets the piped bytes reach the socket before the half-close (FIN)
      attach.stdin.end();
    };
    stdin.on("data", onData);
    stdin.once("end", onEnd);
    stdin.resume();
    cleanup.push(() => {
      stdin.off("data", onData);
      stdin.off("end", onEnd);
      stdin.pause();
    });
  } else {
    attach.closeWrite();
  }

  const pump = (async () => {
    for await (const chunk of attach.output) {
      if (chunk.stream === "stderr" && !opts.tty) process.stderr.write(chunk.data);
      else process.stdout.write(chunk.data);
    }
    await attach.done.catch(() => {});
  })();

  try {
    await Promise.race([pump, detachPromise]);
  } finally {
    for (const c of cleanup) c();
  }
  if (detached) attach.close();
  return { detached };
}

/**
 * TerminalSession puts the local terminal in raw mode for `-t` runs and keeps the container's
 * TTY size in sync. `restore()` is idempotent and also runs on process exit.
 */
export class TerminalSession {
  private raw = false;
  private winch: (() => void) | undefined;
  private readonly restoreOnExit = () => this.restore();

  /** start enables raw mode when stdin is a terminal and `stdinAttached` is set. */
  start(stdinAttached: boolean): void {
    if (stdinAttached && process.stdin.isTTY) {
      process.stdin.setRawMode(true);
      this.raw = true;
      process.once("exit", this.restoreOnExit);
    }
  }

  /** size returns `[rows, cols]` of stdout when it is a terminal, else `[0, 0]`. */
  static size(): [number, number] {
    if (!process.stdout.isTTY) return [0, 0];
    return [process.stdout.rows ?? 0, process.stdout.columns ?? 0];
  }

  /**
   * monitorSize sends the current size now and after every SIGWINCH (plus a WINCH kill, as docker).
   * `exec` passes its own `resize` (`POST /exec/{id}/resize`, no kill).
   */
  monitorSize(client: Client, id: string, resize?: (size: { h: number; w: number }) => Promise<void>): void {
    if (!process.stdout.isTTY) return;
    const send = () => {
      const [h, w] = TerminalSession.size();
      if (h > 0 && w > 0) (resize ?? ((s) => client.containerResize(id, s)))({ h, w }).catch(() => {});
    };
    send();
    this.winch = () => {
      if (!resize) client.containerKill(id, { signal: "WINCH" }).catch(() => {});
      send();
    };
    process.on("SIGWINCH", this.winch);
  }

  /** restore leaves raw mode and stops watching the size. */
  restore(): void {
    if (this.winch) process.off("SIGWINCH", this.winch);
    this.winch = undefined;
    if (this.raw) {
      try {
        process.stdin.setRawMode(false);
      } catch {
        // terminal already gone
      }
      this.raw = false;
      process.off("exit", this.restoreOnExit);
    }
  }
}

const PROXIED_SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"];

/** proxySignals forwards the CLI's signals to the container (docker's --sig-proxy); returns an undo. */
export function proxySignals(client: Client, id: string): () => void {
  const handlers = PROXIED_SIGNALS.map((sig) => {
    const h = () => {
      client.containerKill(id, { signal: sig.slice(3) }).catch(() => {});
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  return () => {
    for (const [sig, h] of handlers) process.off(sig, h);
  };
}
