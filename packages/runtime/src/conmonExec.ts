import { spawn } from "node:child_process";
import { mkdir, open, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { FailedPrecondition, Internal, InvalidArgument } from "@berth/errdefs";
import type { RuntimeSpec } from "@berth/oci";
import { type Attachment, connectAttach } from "./attachSocket.ts";
import { withClosedFds } from "./closeInheritedFds.ts";
import { ociError, runcMessage } from "./runcError.ts";

/** ExecHandle is one running exec process, monitored by its own conmon. */
export interface ExecHandle {
  /** Host pid of the exec'd process. */
  readonly pid: number;
  /** The process's stdio, when the exec was started with `attach`. */
  readonly attachment: Attachment | undefined;
  /** resize sets the exec's terminal size (only with a terminal). */
  resize(size: { height: number; width: number }): Promise<void>;
  /**
   * waitExit resolves with the exit code (128+signal when killed) once conmon reports it; the
   * exec's state dir is removed then.
   */
  waitExit(): Promise<number>;
}

/** ConmonExecParams is what {@link startConmonExec} needs; `Runtime.exec` fills it in. */
export interface ConmonExecParams {
  readonly conmon: string;
  readonly runc: string;
  readonly runcRoot: string;
  /** runc's name for the container. */
  readonly containerId: string;
  /** The exec's own state dir (process.json, attach socket, ctl fifo, exit dir); created here. */
  readonly dir: string;
  readonly process: RuntimeSpec.Process;
  readonly stdin: boolean;
  readonly attach: boolean;
  readonly size?: { height: number; width: number } | undefined;
  readonly timeoutMs: number;
}

/**
 * startConmonExec runs `runc exec --process <dir>/process.json --detach` under a conmon started
 * with `--exec --exec-attach --api-version`, the way podman does, so the exec has its own attach
 * socket (`<dir>/attach`), terminal control fifo (`<dir>/ctl`) and exit record (`<dir>/exit`):
 *
 * 1. conmon gets three socketpairs: `_OCI_SYNCPIPE` (fd 3: `{"data": pid}` once runc exec ran,
 *    then `{"data": exit code}` at the end; a negative value carries runc's error),
 *    `_OCI_STARTPIPE` (fd 4) and `_OCI_ATTACHPIPE` (fd 5).
 * 2. One write on the start pipe lets conmon go on (podman moves it into a cgroup first; Berth
 *    does not), conmon daemonizes, creates the attach socket and writes on the attach pipe.
 * 3. Berth connects to the attach socket (when attaching) and sets the terminal size, then writes
 *    on the start pipe again: only now conmon runs runc exec, so no output is lost.
 */
export async function startConmonExec(p: ConmonExecParams): Promise<ExecHandle> {
  // Not `exit`: conmon writes its persist-dir exit *file* under that name.
  await mkdir(join(p.dir, "exits"), { recursive: true, mode: 0o700 });
  const specPath = join(p.dir, "process.json");
  await writeFile(specPath, JSON.stringify(p.process), { mode: 0o600 });
  const terminal = p.process.terminal === true;
  const args = [
    "--api-version",
    "1",
    "--cid",
    p.containerId,
    "--cuuid",
    p.containerId,
    "--name",
    p.containerId,
    "--runtime",
    p.runc,
    "--runtime-arg",
    `--root=${p.runcRoot}`,
    "--runtime-arg",
    "--log-format=json",
    "--bundle",
    p.dir,
    "--container-pidfile",
    join(p.dir, "pid"),
    "--log-path",
    "none:",
    "--exit-dir",
    join(p.dir, "exits"),
    "--persist-dir",
    p.dir,
    "--socket-dir-path",
    p.dir,
    "--full-attach",
    "--exec",
    "--exec-attach",
    "--exec-process-spec",
    specPath,
  ];
  if (terminal) args.push("--terminal");
  if (p.stdin) args.push("--stdin");
  // T3 as for create: conmon and runc inherit only stdio (/dev/null) and the three pipes.
  const wrapped = withClosedFds(p.conmon, args, 6);
  const child = spawn(wrapped.cmd, wrapped.args, {
    cwd: p.dir,
    detached: true,
    stdio: ["ignore", "ignore", "ignore", "pipe", "pipe", "pipe"],
    env: {
      PATH: process.env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      _OCI_SYNCPIPE: "3",
      _OCI_STARTPIPE: "4",
      _OCI_ATTACHPIPE: "5",
      TMPDIR: p.dir,
    },
  });
  child.unref();
  const stdio = child.stdio as unknown as Array<Readable & Writable>;
  const sync = new MessageReader(stdio[3]!);
  const start: Writable = stdio[4]!;
  const attachPipe = new MessageReader(stdio[5]!);
  const spawnFailed = new Promise<never>((_, rej) =>
    child.once("error", (err) =>
      rej(new Internal(`cannot start ${p.conmon}: ${err.message}`, { cause: err })),
    ),
  );
  spawnFailed.catch(() => {});
  let attachment: Attachment | undefined;
  const fail = async (err: unknown): Promise<never> => {
    attachment?.close();
    sync.close();
    attachPipe.close();
    start.destroy();
    await rm(p.dir, { recursive: true, force: true }).catch(() => {});
    throw err;
  };
  try {
    start.write("0");
    const ready = await Promise.race([attachPipe.next(p.timeoutMs), spawnFailed]);
    if (ready === undefined || (ready.data ?? 0) < 0) {
      throw new Internal(`conmon did not set up the exec attach socket: ${ready?.message ?? "it exited"}`);
    }
    attachPipe.close();
    if (p.attach) attachment = await connectAttach(join(p.dir, "attach"));
    if (terminal && p.size && p.size.height > 0 && p.size.width > 0)
      await resizeExec(p.dir, p.size).catch(() => {});
    start.end("0");
    const msg = await Promise.race([sync.next(p.timeoutMs), spawnFailed]);
    if (msg === undefined) throw new Internal("conmon exited without reporting the exec pid");
    const pid = msg.data ?? msg.pid ?? -1;
    if (pid <= 0) throw ociError("exec", runcMessage(msg.message ?? "unknown error"));
    let exit: Promise<number> | undefined;
    const waitExit = () => {
      exit ??= (async () => {
        const end = await sync.next(0);
        sync.close();
        await rm(p.dir, { recursive: true, force: true }).catch(() => {});
        if (end === undefined)
          throw new Internal(`the monitor of exec pid ${pid} exited without an exit code`);
        return end.data ?? -1;
      })();
      return exit;
    };
    return {
      pid,
      attachment,
      resize: (size) => {
        if (!terminal) return Promise.reject(new FailedPrecondition("the exec has no terminal to resize"));
        return resizeExec(p.dir, size);
      },
      waitExit,
    };
  } catch (err) {
    return fail(err);
  }
}

/** resizeExec writes `1 <height> <width>` to the exec conmon's control fifo. */
async function resizeExec(dir: string, size: { height: number; width: number }): Promise<void> {
  const h = Math.trunc(size.height);
  const w = Math.trunc(size.width);
  if (!(h >= 0 && h <= 1000 && w >= 0 && w <= 1000))
    throw new InvalidArgument(`invalid terminal size ${size.height}x${size.width}: expected 0-1000 each`);
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(join(dir, "ctl"), "w");
  } catch (err) {
    throw new FailedPrecondition("cannot resize the exec: its monitor is not running", { cause: err });
  }
  try {
    await fh.write(`1 ${h} ${w}\n`);
  } finally {
    await fh.close();
  }
}

interface SyncMessage {
  data?: number;
  pid?: number;
  message?: string;
}

/**
 * MessageReader reads conmon's newline-delimited JSON messages from one pipe in order; `next`
 * resolves undefined once the pipe ended.
 */
export class MessageReader {
  #buf = "";
  #queue: SyncMessage[] = [];
  #ended = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;
  readonly #stream: Readable;

  constructor(stream: Readable) {
    this.#stream = stream;
    stream.on("data", (chunk: Buffer) => {
      this.#buf += chunk.toString("utf8");
      for (let nl = this.#buf.indexOf("\n"); nl >= 0; nl = this.#buf.indexOf("\n")) {
        const line = this.#buf.slice(0, nl).trim();
        this.#buf = this.#buf.slice(nl + 1);
        if (line === "") continue;
        try {
          this.#queue.push(JSON.parse(line) as SyncMessage);
        } catch {
          this.#error = new Internal(`malformed message from conmon: ${JSON.stringify(line)}`);
        }
      }
      this.#poke();
    });
    const end = () => {
      this.#ended = true;
      this.#poke();
    };
    stream.on("end", end);
    stream.on("close", end);
    stream.on("error", end);
  }

  #poke(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  /** next waits for the next message (`timeoutMs` 0: no limit). */
  async next(timeoutMs: number): Promise<SyncMessage | undefined> {
    const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Number.POSITIVE_INFINITY;
    for (;;) {
      const m = this.#queue.shift();
      if (m) return m;
      if (this.#error) throw this.#error;
      if (this.#ended) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) throw new Internal(`conmon did not report within ${timeoutMs} ms`);
      await new Promise<void>((res) => {
        const t = Number.isFinite(left) ? setTimeout(res, left) : undefined;
        this.#wake = () => {
          if (t) clearTimeout(t);
          res();
        };
      });
    }
  }

  /** close stops reading. */
  close(): void {
    this.#stream.destroy();
  }
}
