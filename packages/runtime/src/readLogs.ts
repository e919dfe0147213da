import { watch } from "node:fs";
import { open, stat } from "node:fs/promises";
import { errnoCode } from "@berth/errdefs";

/** LogRecord is one line of container output (partial `P` chunks already joined). */
export interface LogRecord {
  readonly stream: "stdout" | "stderr";
  /** RFC3339Nano in UTC as docker prints it: `2024-01-02T03:04:05.123456789Z`, trailing zeros trimmed. */
  readonly time: string;
  /** The bytes, ending in `\n` unless the process wrote no newline before exiting. */
  readonly data: Buffer;
}

/** ReadLogsOptions select and bound what {@link readLogs} yields. */
export interface ReadLogsOptions {
  /** Keep reading new lines as conmon appends them, until `signal` aborts or `stop` settles. */
  readonly follow?: boolean;
  /** Only records at or after this instant (Date, or unix nanoseconds as bigint). */
  readonly since?: Date | bigint;
  /** Only records before this instant. */
  readonly until?: Date | bigint;
  /** Only the last N records that exist when reading starts (then follow, if asked). */
  readonly tail?: number;
  /** Aborting ends the iteration (no error). */
  readonly signal?: AbortSignal;
  /** When this settles (e.g. the container's exit), the rest of the file is read and iteration ends. */
  readonly stop?: Promise<unknown>;
  /** Poll interval for follow mode when fs.watch misses an event; default 250 ms. */
  readonly pollMs?: number;
}

/** ParsedLine is one k8s-file line. */
export interface ParsedLine {
  readonly time: string;
  readonly nanos: bigint;
  readonly stream: "stdout" | "stderr";
  readonly partial: boolean;
  readonly data: Buffer;
}

const LINE_RE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2}) (stdout|stderr) ([PF]) /;

/**
 * parseK8sLogLine parses one line of conmon's k8s-file format
 * (`<RFC3339Nano time> <stdout|stderr> <P|F> <message>`, no trailing newline)
 * and normalises the time to UTC. Returns undefined for a malformed line.
 */
export function parseK8sLogLine(line: Buffer): ParsedLine | undefined {
  const head = line.subarray(0, 64).toString("latin1");
  const m = LINE_RE.exec(head);
  if (!m) return undefined;
  const base = Date.parse(`${m[1]}${m[3] === "Z" ? "Z" : m[3]}`);
  if (Number.isNaN(base)) return undefined;
  const frac = (m[2] ?? ".").slice(1).padEnd(9, "0").slice(0, 9);
  const nanos = BigInt(base) * 1_000_000n + BigInt(frac);
  return {
    time: formatRFC3339Nano(nanos),
    nanos,
    stream: m[4] as "stdout" | "stderr",
    partial: m[5] === "P",
    data: line.subarray(m[0].length),
  };
}

/** formatRFC3339Nano prints unix nanoseconds like Go's time.RFC3339Nano in UTC (trailing zeros trimmed). */
export function formatRFC3339Nano(nanos: bigint): string {
  const ms = nanos / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString().slice(0, 19);
  const frac = (nanos % 1_000_000_000n).toString().padStart(9, "0").replace(/0+$/, "");
  return `${iso}${frac ? `.${frac}` : ""}Z`;
}

function toNanos(t: Date | bigint): bigint {
  return typeof t === "bigint" ? t : BigInt(t.getTime()) * 1_000_000n;
}

/**
 * LogAssembler turns k8s-file lines into records: `P` chunks of one stream are
 * joined until the `F` line that ends them; an `F` line's data gets back the
 * newline conmon stripped.
 */
export class LogAssembler {
  readonly #pending = new Map<string, { time: string; nanos: bigint; parts: Buffer[] }>();

  /** push one raw line (without its `\n`); returns the record it completes, if any. */
  push(line: Buffer): (LogRecord & { nanos: bigint }) | undefined {
    const p = parseK8sLogLine(line);
    if (!p) return undefined;
    const pend = this.#pending.get(p.stream) ?? { time: p.time, nanos: p.nanos, parts: [] };
    pend.parts.push(p.data);
    if (p.partial) {
      this.#pending.set(p.stream, pend);
      return undefined;
    }
    this.#pending.delete(p.stream);
    pend.parts.push(Buffer.from("\n"));
    return { stream: p.stream, time: pend.time, nanos: pend.nanos, data: Buffer.concat(pend.parts) };
  }

  /** flush returns records for partial output never finished (the process exited mid-line). */
  flush(): (LogRecord & { nanos: bigint })[] {
    const out = [...this.#pending.entries()].map(([stream, p]) => ({
      stream: stream as "stdout" | "stderr",
      time: p.time,
      nanos: p.nanos,
      data: Buffer.concat(p.parts),
    }));
    this.#pending.clear();
    return out;
  }
}

/**
 * readLogs reads a conmon k8s-file log as records. Without `follow` it reads
 * what is there and ends; with `follow` it keeps tailing (fs.watch plus a
 * poll) until `signal` aborts or `stop` settles, and it reopens the file from
 * the start if conmon truncates or replaces it (`--log-size-max`).
 */
export async function* readLogs(logPath: string, opts: ReadLogsOptions = {}): AsyncGenerator<LogRecord> {
  const since = opts.since === undefined ? undefined : toNanos(opts.since);
  const until = opts.until === undefined ? undefined : toNanos(opts.until);
  const keep = (r: { nanos: bigint }) =>
    (since === undefined || r.nanos >= since) && (until === undefined || r.nanos < until);
  const strip = (r: LogRecord & { nanos: bigint }): LogRecord => ({
    stream: r.stream,
    time: r.time,
    data: r.data,
  });

  const assembler = new LogAssembler();
  let offset = 0;
  let ino: number | undefined;
  let carry = Buffer.alloc(0);

  const readMore = async (): Promise<(LogRecord & { nanos: bigint })[]> => {
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(logPath);
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return [];
      throw err;
    }
    if ((ino !== undefined && st.ino !== ino) || st.size < offset) {
      offset = 0;
      carry = Buffer.alloc(0);
    }
    ino = st.ino;
    if (st.size === offset) return [];
    const fh = await open(logPath, "r");
    const chunks: Buffer[] = [carry];
    try {
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
        if (bytesRead === 0) break;
        chunks.push(Buffer.from(buf.subarray(0, bytesRead)));
        offset += bytesRead;
      }
    } finally {
      await fh.close();
    }
    const all = Buffer.concat(chunks);
    const out: (LogRecord & { nanos: bigint })[] = [];
    let start = 0;
    for (let nl = all.indexOf(10, start); nl >= 0; nl = all.indexOf(10, start)) {
      const rec = assembler.push(all.subarray(start, nl));
      if (rec && keep(rec)) out.push(rec);
      start = nl + 1;
    }
    carry = Buffer.from(all.subarray(start));
    return out;
  };

  let first = await readMore();
  if (opts.tail !== undefined && opts.tail >= 0) first = opts.tail === 0 ? [] : first.slice(-opts.tail);
  for (const r of first) yield strip(r);
  if (!opts.follow) {
    for (const r of assembler.flush()) if (keep(r)) yield strip(r);
    return;
  }

  let stopped = false;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onAbort = () => {
    stopped = true;
    poke();
  };
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  if (opts.signal?.aborted) stopped = true;
  let stopRequested = false;
  opts.stop?.then(
    () => {
      stopRequested = true;
      poke();
    },
    () => {
      stopRequested = true;
      poke();
    },
  );
  let watcher: ReturnType<typeof watch> | undefined;
  try {
    watcher = watch(logPath, { persistent: false }, poke);
    watcher.on("error", () => {});
  } catch {
    watcher = undefined;
  }
  try {
    while (!stopped) {
      const finishing = stopRequested;
      for (const r of await readMore()) {
        if (opts.signal?.aborted) return;
        yield strip(r);
      }
      if (finishing) {
        for (const r of assembler.flush()) if (keep(r)) yield strip(r);
        return;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(poke, opts.pollMs ?? 250);
      });
    }
  } finally {
    watcher?.close();
    opts.signal?.removeEventListener("abort", onAbort);
  }
}
