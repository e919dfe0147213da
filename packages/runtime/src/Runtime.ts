import { execFile, spawn } from "node:child_process";
import { accessSync, constants, watch } from "node:fs";
import { mkdir, open, readFile, rename, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { constants as osConstants } from "node:os";
import { join, resolve } from "node:path";
import type { Readable } from "node:stream";
import {
  AlreadyExists,
  Canceled,
  errnoCode,
  FailedPrecondition,
  Internal,
  InvalidArgument,
  NotFound,
} from "@berth/errdefs";
import type { Spec } from "@berth/oci";
import { type Attachment, connectAttach } from "./attachSocket.ts";
import { checkRuncVersion, type RuncVersionReport } from "./checkRuncVersion.ts";
import { withClosedFds } from "./closeInheritedFds.ts";
import { type ExecHandle, startConmonExec } from "./conmonExec.ts";
import { type ExecProcessOptions, execProcessSpec } from "./execSpec.ts";
import { releaseExecFifo } from "./releaseExecFifo.ts";
import { ociError, runcCommandError, runcMessage } from "./runcError.ts";

/** RuntimeOptions configure where binaries and state live. */
export interface RuntimeOptions {
  /** runc binary; default `runc` from PATH. */
  readonly runc?: string;
  /** conmon binary; default `conmon` from PATH. */
  readonly conmon?: string;
  /** Per-container state (exit files, pid files, metadata), e.g. `/run/berth/runtime`. */
  readonly stateRoot: string;
  /** runc's `--root`; default `<stateRoot>/runc`. */
  readonly runcRoot?: string;
  /** Where warnings (old runc) go; default console. */
  readonly logger?: { warn(message: string): void };
  /** How long create waits for conmon to report the container pid; default 60 s. */
  readonly createTimeoutMs?: number;
}

/** CreateOptions describe one container to create from a bundle. */
export interface CreateOptions {
  /** Bundle directory; config.json is written here, conmon puts `attach`, `ctl`, `winsz` here too. */
  readonly bundle: string;
  readonly spec: Spec;
  /** Allocate a pseudo-terminal (overrides `spec.process.terminal`). */
  readonly terminal?: boolean;
  /** Keep a stdin pipe open so attach clients can write to the container. */
  readonly stdin?: boolean;
  /** Keep the container's stdin open when an attach client disconnects (docker without StdinOnce). */
  readonly leaveStdinOpen?: boolean;
  /** k8s-file log written by conmon. */
  readonly logPath: string;
  /** Where conmon writes `exit` and `oom`; default `<stateRoot>/<id>/persist`. */
  readonly persistDir?: string;
  /** Truncate the log when it grows beyond this many bytes. */
  readonly logSizeMax?: number;
}

/** CreateResult identifies the created (not yet started) container. */
export interface CreateResult {
  /** Host pid of the container's init (waiting in `runc init` until start). */
  readonly pid: number;
  /** Host pid of the conmon that monitors it. */
  readonly conmonPid: number;
}

/** RuntimeExecOptions describe one exec: the process (see {@link execProcessSpec}) and its stdio. */
export interface RuntimeExecOptions extends ExecProcessOptions {
  /** Names the exec's state dir; [a-zA-Z0-9][a-zA-Z0-9_.-]*, short (socket paths are limited). */
  readonly execId: string;
  /** Keep a stdin pipe open for the attach connection (docker's `-i`). */
  readonly stdin?: boolean;
  /** Connect to the exec's stdio before it runs (default true); false discards output (`-d`). */
  readonly attach?: boolean;
  /** Initial terminal size, set before the process runs. */
  readonly size?: { height: number; width: number };
}

/**
 * ResourceUpdate is what {@link Runtime.update} can change live: bytes for memory (-1 unlimited),
 * CFS microseconds for period and quota (-1 no quota), a count for pids (-1 or 0 unlimited).
 */
export interface ResourceUpdate {
  readonly memory?: number;
  readonly memorySwap?: number;
  readonly memoryReservation?: number;
  readonly cpuShares?: number;
  readonly cpuPeriod?: number;
  readonly cpuQuota?: number;
  readonly pidsLimit?: number;
  readonly cpusetCpus?: string;
  readonly cpusetMems?: string;
}

/** ContainerStatus as runc reports it. */
export type ContainerStatus = "creating" | "created" | "running" | "paused" | "stopped";

/** ContainerState is `runc state` trimmed to what callers use. */
export interface ContainerState {
  readonly status: ContainerStatus;
  /** 0 once stopped. */
  readonly pid: number;
  readonly bundle: string;
  readonly created: string;
}

/** ExitStatus is what conmon recorded when the container's init exited. */
export interface ExitStatus {
  /** The exit code, or 128+signal when killed by a signal (137 for SIGKILL). */
  readonly exitCode: number;
  /** conmon saw an OOM kill in the container's memory cgroup. */
  readonly oomKilled: boolean;
  /** When conmon wrote the exit file. */
  readonly finishedAt: Date;
}

/** Metadata kept in `<stateRoot>/<id>/runtime.json` so a restarted engine can find everything. */
interface Meta {
  bundle: string;
  logPath: string;
  persistDir: string;
  terminal: boolean;
  stdin: boolean;
}

const ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
const SUN_PATH_MAX = 107;

/**
 * Runtime drives runc under conmon. Every container gets its own conmon,
 * started detached in a new session with stdio on /dev/null, so it outlives
 * the engine: it keeps writing the k8s-file log and records the exit code
 * (and an OOM marker) in files that {@link Runtime.exitStatus} reads later,
 * even from another process.
 *
 * Lifecycle: `create` (runc create under conmon; the process waits) ->
 * `attach` (optional, before start so no output is lost) -> `start` -> ...
 * -> `waitExit`/`exitStatus` -> `delete` (runc delete) -> `cleanup` (state files).
 *
 * Exec (`conmon --exec` with a process spec derived from the container's) runs
 * extra processes in a running container: see {@link Runtime.exec}.
 */
export class Runtime {
  readonly runc: string;
  readonly conmon: string;
  readonly stateRoot: string;
  readonly runcRoot: string;
  readonly #logger: { warn(message: string): void };
  readonly #createTimeoutMs: number;
  #versionCheck: Promise<RuncVersionReport> | undefined;

  constructor(opts: RuntimeOptions) {
    // conmon refuses a runtime path that is not absolute ("Runtime path runc is not valid")
    this.runc = lookPath(opts.runc ?? "runc");
    this.conmon = lookPath(opts.conmon ?? "conmon");
    this.stateRoot = resolve(opts.stateRoot);
    this.runcRoot = resolve(opts.runcRoot ?? join(this.stateRoot, "runc"));
    this.#logger = opts.logger ?? { warn: (m) => console.warn(m) };
    this.#createTimeoutMs = opts.createTimeoutMs ?? 60_000;
  }

  /**
   * checkRunc runs the runc version gate once (threat row T1) and logs its
   * warnings loudly; `create` calls it, so calling it yourself is optional.
   */
  checkRunc(): Promise<RuncVersionReport> {
    this.#versionCheck ??= checkRuncVersion(this.runc).then((r) => {
      for (const w of r.warnings) this.#logger.warn(`WARNING: ${w}`);
      return r;
    });
    return this.#versionCheck;
  }

  /** stateDir is `<stateRoot>/<id>`, everything conmon and Berth keep for the container. */
  stateDir(id: string): string {
    validateId(id);
    return join(this.stateRoot, id);
  }

  /**
   * create writes `config.json` into the bundle, starts conmon (which runs
   * `runc create`) and waits for conmon's sync-pipe report: the container's
   * pid, or runc's error, thrown as docker words it
   * (`OCI runtime create failed: ...: unknown`). runc 1.1 looks up the
   * entrypoint during create, so a missing binary fails here, not at start.
   * On failure nothing is left behind except the log file.
   */
  async create(id: string, opts: CreateOptions): Promise<CreateResult> {
    const dir = this.stateDir(id);
    await this.checkRunc();
    const bundle = resolve(opts.bundle);
    if (join(bundle, "attach").length > SUN_PATH_MAX) {
      throw new InvalidArgument(
        `bundle path ${bundle} is too long: ${bundle}/attach must fit in ${SUN_PATH_MAX} bytes`,
      );
    }
    try {
      await mkdir(dir, { mode: 0o700 });
    } catch (err) {
      if (errnoCode(err) === "EEXIST")
        throw new AlreadyExists(`container ${id} already exists in the runtime`);
      if (errnoCode(err) === "ENOENT") {
        await mkdir(this.stateRoot, { recursive: true, mode: 0o700 });
        await mkdir(dir, { mode: 0o700 });
      } else throw err;
    }
    try {
      return await this.#create(id, dir, bundle, opts);
    } catch (err) {
      await this.#forceDelete(id);
      await this.cleanup(id).catch(() => {});
      throw err;
    }
  }

  async #create(id: string, dir: string, bundle: string, opts: CreateOptions): Promise<CreateResult> {
    const terminal = opts.terminal ?? opts.spec.process?.terminal ?? false;
    const persistDir = resolve(opts.persistDir ?? join(dir, "persist"));
    const meta: Meta = {
      bundle,
      logPath: resolve(opts.logPath),
      persistDir,
      terminal,
      stdin: opts.stdin === true,
    };
    await mkdir(join(dir, "exit"), { mode: 0o700 });
    await mkdir(persistDir, { recursive: true, mode: 0o700 });
    await mkdir(this.runcRoot, { recursive: true, mode: 0o700 });
    await writeAtomic(join(dir, "runtime.json"), JSON.stringify(meta));
    const spec: Spec = opts.spec.process
      ? { ...opts.spec, process: { ...opts.spec.process, terminal } }
      : opts.spec;
    await writeAtomic(join(bundle, "config.json"), JSON.stringify(spec, null, 2));

    const args = [
      "--cid",
      id,
      "--cuuid",
      id,
      "--name",
      id,
      "--runtime",
      this.runc,
      "--runtime-arg",
      `--root=${this.runcRoot}`,
      "--runtime-arg",
      "--log-format=json",
      "--bundle",
      bundle,
      "--container-pidfile",
      join(dir, "pid"),
      "--conmon-pidfile",
      join(dir, "conmon.pid"),
      "--log-path",
      `k8s-file:${meta.logPath}`,
      "--exit-dir",
      join(dir, "exit"),
      "--persist-dir",
      persistDir,
      "--socket-dir-path",
      dir,
      "--full-attach",
    ];
    if (opts.logSizeMax !== undefined && opts.logSizeMax > 0)
      args.push("--log-size-max", String(opts.logSizeMax));
    if (terminal) args.push("--terminal");
    if (opts.stdin) args.push("--stdin");
    if (opts.leaveStdinOpen) args.push("--leave-stdin-open");

    // T3: conmon (and through it runc) inherits only stdio (all /dev/null)
    // and fd 3, the sync pipe. Node opens its own fds with O_CLOEXEC, and
    // withClosedFds closes fds the engine itself inherited without it.
    // The cwd is the persist dir because conmon also drops an `oom` marker
    // into its working directory.
    const wrapped = withClosedFds(this.conmon, args, 4);
    const child = spawn(wrapped.cmd, wrapped.args, {
      cwd: persistDir,
      detached: true,
      stdio: ["ignore", "ignore", "ignore", "pipe"],
      env: {
        PATH: process.env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        _OCI_SYNCPIPE: "3",
        TMPDIR: dir,
      },
    });
    const exited = new Promise<number | null>((res) => {
      child.once("exit", (code) => res(code));
      child.once("error", () => res(null));
    });
    const spawnError = new Promise<never>((_, rej) => {
      child.once("error", (err) =>
        rej(new Internal(`cannot start ${this.conmon}: ${err.message}`, { cause: err })),
      );
    });
    child.unref();
    const sync = child.stdio[3] as Readable;
    let msg: { pid?: number; data?: number; message?: string } | undefined;
    try {
      msg = await Promise.race([readSyncMessage(sync, this.#createTimeoutMs), spawnError]);
    } finally {
      sync.destroy();
    }
    if (msg === undefined) {
      const code = await exited;
      throw new Internal(`conmon exited (code ${code}) without reporting the container pid for ${id}`);
    }
    const pid = msg.pid ?? msg.data ?? -1;
    if (pid <= 0) throw ociError("create", runcMessage(msg.message ?? "unknown error"));
    await exited;
    const conmonPid = Number((await readFile(join(dir, "conmon.pid"), "utf8")).trim());
    return { pid, conmonPid };
  }

  /**
   * attach connects to the container's stdio through conmon's attach socket.
   * Call it after create and before start to see all output.
   */
  async attach(id: string): Promise<Attachment> {
    const meta = await this.#meta(id);
    return connectAttach(join(meta.bundle, "attach"));
  }

  /**
   * start runs the created container's entrypoint: it releases runc's exec fifo itself, as
   * `runc start` would, one process fewer per start; when that is not possible (no fifo, init
   * gone) it runs `runc start`, which reports why.
   */
  async start(id: string): Promise<void> {
    validateId(id);
    const pidText = await readFile(join(this.stateDir(id), "pid"), "utf8").catch(() => "");
    const pid = Number.parseInt(pidText.trim(), 10);
    const fifo = join(this.runcRoot, id, "exec.fifo");
    if (await releaseExecFifo(fifo, Number.isInteger(pid) ? { pid } : {})) return;
    await this.#runc("start", id, ["start", id]);
  }

  /** kill sends a signal (`"TERM"`, `"SIGKILL"`, `9`) to init, or to every process with `all`. */
  async kill(id: string, signal: string | number = "SIGTERM", all = false): Promise<void> {
    const sig = String(signal).toUpperCase();
    if (!/^(SIG)?[A-Z0-9+-]+$/.test(sig))
      throw new InvalidArgument(`invalid signal ${JSON.stringify(signal)}`);
    if (!all && (await this.#signalInit(id, sig))) return;
    await this.#runc("kill", id, ["kill", ...(all ? ["--all"] : []), id, sig]);
  }

  /**
   * #signalInit sends `sig` to the container's init itself when runc's state proves the pid is
   * still that process (the pid and its start time in `<root>/<id>/state.json` match
   * /proc/<pid>/stat, the check `runc kill` makes), saving a runc process per stop. False when it
   * cannot tell or the signal has no number here: the caller asks runc.
   */
  async #signalInit(id: string, sig: string): Promise<boolean> {
    const num = /^\d+$/.test(sig)
      ? Number(sig)
      : osConstants.signals[(sig.startsWith("SIG") ? sig : `SIG${sig}`) as keyof typeof osConstants.signals];
    if (num === undefined || num <= 0 || num > 64) return false;
    try {
      const state = JSON.parse(await readFile(join(this.runcRoot, id, "state.json"), "utf8")) as {
        init_process_pid?: unknown;
        init_process_start?: unknown;
      };
      const pid = state.init_process_pid;
      if (typeof pid !== "number" || pid <= 1 || typeof state.init_process_start !== "number") return false;
      const stat = await readFile(`/proc/${pid}/stat`, "utf8");
      // Fields after the command's closing parenthesis start at field 3 (state); starttime is 22.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] === "Z" || Number(fields[19]) !== state.init_process_start) return false;
      process.kill(pid, num);
      return true;
    } catch {
      return false;
    }
  }

  /** pause freezes every process of the container (`runc pause`). */
  async pause(id: string): Promise<void> {
    await this.#runc("pause", id, ["pause", id]);
  }

  /** unpause thaws a paused container (`runc resume`). */
  async unpause(id: string): Promise<void> {
    await this.#runc("resume", id, ["resume", id]);
  }

  /**
   * update changes the resource limits of a created, running or paused container in place
   * (`runc update`, which writes the cgroup files and its own state). Unset fields stay as they are.
   */
  async update(id: string, r: ResourceUpdate): Promise<void> {
    const args: string[] = [];
    const add = (flag: string, v: number | undefined) => {
      if (v !== undefined) args.push(`--${flag}`, String(Math.trunc(v)));
    };
    add("memory", r.memory);
    add("memory-swap", r.memorySwap);
    add("memory-reservation", r.memoryReservation);
    add("cpu-share", r.cpuShares);
    add("cpu-period", r.cpuPeriod);
    add("cpu-quota", r.cpuQuota);
    add("pids-limit", r.pidsLimit);
    if (r.cpusetCpus !== undefined) args.push("--cpuset-cpus", r.cpusetCpus);
    if (r.cpusetMems !== undefined) args.push("--cpuset-mems", r.cpusetMems);
    if (args.length === 0) return;
    await this.#runc("update", id, ["update", ...args, id]);
  }

  /** state is `runc state`; NotFound when runc does not know the id. */
  async state(id: string): Promise<ContainerState> {
    const out = await this.#runc("state", id, ["state", id]);
    const j = JSON.parse(out) as { status: ContainerStatus; pid: number; bundle: string; created: string };
    return { status: j.status, pid: j.pid, bundle: j.bundle, created: j.created };
  }

  /**
   * delete removes the container from runc (`--force` kills a running one)
   * and waits up to 10 s for its conmon to record the exit and go away.
   * Deleting an id runc no longer knows is not an error. State files stay
   * until {@link Runtime.cleanup}, so the exit status remains readable.
   */
  async delete(id: string, opts: { force?: boolean } = {}): Promise<void> {
    // runc keeps a container's state in <root>/<id>; without it runc knows no such container and
    // would only answer NotFound (a Go process for nothing: a stop deletes, then the removal again).
    const known = await stat(join(this.runcRoot, id)).then(
      () => true,
      () => false,
    );
    try {
      if (known && !(await this.#deleteStopped(id)))
        await this.#runc("delete", id, ["delete", ...(opts.force ? ["--force"] : []), id]);
    } catch (err) {
      if (!(err instanceof NotFound)) throw err;
    }
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await this.isConmonAlive(id))) await sleep(50);
  }

  /**
   * #deleteStopped does what `runc delete` does for a stopped container, without a runc process:
   * removes its cgroup directories and runc's state dir. Only when runc's state shows nothing left
   * to run or kill: the init is gone (no process with its pid and start time), it had its own pid
   * namespace (so the kernel killed the rest with it), no hooks, no Intel RDT group. Anything else,
   * or a cgroup that will not go (still busy), returns false and the caller asks runc.
   */
  async #deleteStopped(id: string): Promise<boolean> {
    const dir = join(this.runcRoot, id);
    try {
      const state = JSON.parse(await readFile(join(dir, "state.json"), "utf8")) as {
        init_process_pid?: unknown;
        init_process_start?: unknown;
        cgroup_paths?: unknown;
        intel_rdt_path?: unknown;
        config?: { namespaces?: Array<{ type?: unknown; path?: unknown }>; hooks?: unknown };
      };
      const pid = state.init_process_pid;
      if (typeof pid !== "number" || typeof state.init_process_start !== "number") return false;
      if (!state.config?.namespaces?.some((n) => n.type === "NEWPID" && !n.path)) return false;
      const hooks = state.config.hooks;
      if (hooks && Object.values(hooks as object).some((h) => Array.isArray(h) && h.length > 0)) return false;
      if (state.intel_rdt_path) return false;
      const paths = state.cgroup_paths;
      if (typeof paths !== "object" || paths === null) return false;
      const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
      if (stat !== "") {
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        if (Number(fields[19]) === state.init_process_start) return false; // still there (or a zombie)
      }
      for (const p of new Set(Object.values(paths as Record<string, unknown>))) {
        if (typeof p !== "string" || !p.startsWith("/sys/fs/cgroup/")) return false;
        try {
          await rmdir(p);
        } catch (err) {
          if (errnoCode(err) !== "ENOENT") return false;
        }
      }
      await rm(dir, { recursive: true, force: true });
      return true;
    } catch {
      return false;
    }
  }

  /** resize sets the terminal size through conmon's control fifo (`1 <height> <width>`). */
  async resize(id: string, size: { height: number; width: number }): Promise<void> {
    const meta = await this.#meta(id);
    if (!meta.terminal) throw new FailedPrecondition(`container ${id} has no terminal to resize`);
    const h = Math.trunc(size.height);
    const w = Math.trunc(size.width);
    if (!(h >= 0 && h <= 1000 && w >= 0 && w <= 1000)) {
      throw new InvalidArgument(`invalid terminal size ${size.height}x${size.width}: expected 0-1000 each`);
    }
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(join(meta.bundle, "ctl"), "w" as const);
    } catch (err) {
      throw new FailedPrecondition(`cannot resize ${id}: its monitor is not running`, { cause: err });
    }
    try {
      await fh.write(`1 ${h} ${w}\n`);
    } finally {
      await fh.close();
    }
  }

  /**
   * exitStatus reads what conmon recorded: the exit file (exit dir, else the
   * persist dir), the `oom` marker conmon writes into the persist dir when the
   * memory cgroup reports an OOM kill (cgroup v1 eventfd on
   * memory.oom_control, v2 memory.events). Undefined while still running.
   */
  async exitStatus(id: string): Promise<ExitStatus | undefined> {
    const dir = this.stateDir(id);
    let meta: Meta | undefined;
    try {
      meta = await this.#meta(id);
    } catch (err) {
      if (!(err instanceof NotFound)) throw err;
    }
    const persist = meta?.persistDir ?? join(dir, "persist");
    for (const file of [join(dir, "exit", id), join(persist, "exit")]) {
      let text: string;
      let mtime: Date;
      try {
        text = await readFile(file, "utf8");
        mtime = (await stat(file)).mtime;
      } catch (err) {
        if (errnoCode(err) === "ENOENT") continue;
        throw err;
      }
      if (text.trim() === "") continue;
      const exitCode = Number(text.trim());
      if (!Number.isInteger(exitCode))
        throw new Internal(`malformed exit file ${file}: ${JSON.stringify(text)}`);
      const oomKilled = await exists(join(persist, "oom"));
      return { exitCode, oomKilled, finishedAt: mtime };
    }
    return undefined;
  }

  /**
   * waitExit resolves with the exit status once conmon records it, watching
   * the exit dir with fs.watch plus a 500 ms poll. It rejects with Canceled
   * when `signal` aborts, and with Internal when conmon is gone without
   * leaving an exit file (it was killed).
   */
  async waitExit(id: string, signal?: AbortSignal): Promise<ExitStatus> {
    const dir = join(this.stateDir(id), "exit");
    let wake: (() => void) | undefined;
    const poke = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    let watcher: ReturnType<typeof watch> | undefined;
    try {
      watcher = watch(dir, { persistent: false }, poke);
      watcher.on("error", () => {});
    } catch {
      watcher = undefined;
    }
    signal?.addEventListener("abort", poke);
    let deadChecks = 0;
    try {
      for (;;) {
        if (signal?.aborted) throw new Canceled(`waiting for container ${id} was canceled`);
        const st = await this.exitStatus(id);
        if (st) return st;
        if (!(await this.isConmonAlive(id))) {
          // conmon writes the exit file just before exiting: give it one more look
          if (++deadChecks > 2) {
            throw new Internal(`the monitor of container ${id} exited without recording an exit status`);
          }
        }
        await new Promise<void>((res) => {
          wake = res;
          setTimeout(poke, 500);
        });
      }
    } finally {
      watcher?.close();
      signal?.removeEventListener("abort", poke);
    }
  }

  /** isConmonAlive tells whether the conmon recorded in conmon.pid still runs (checked against its cmdline). */
  async isConmonAlive(id: string): Promise<boolean> {
    let pid: number;
    try {
      pid = Number((await readFile(join(this.stateDir(id), "conmon.pid"), "utf8")).trim());
    } catch {
      return false;
    }
    if (!Number.isInteger(pid) || pid <= 0) return false;
    try {
      const cmdline = (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0");
      const st = await readFile(`/proc/${pid}/stat`, "utf8");
      if (/\) Z /.test(st)) return false;
      return cmdline.includes("--cid") && cmdline[cmdline.indexOf("--cid") + 1] === id;
    } catch {
      return false;
    }
  }

  /**
   * cleanup removes everything the runtime keeps for `id`: its state dir
   * (exit file, pid files, metadata, default persist dir) and the `attach`,
   * `ctl` and `winsz` entries conmon made in the bundle. Call after delete.
   */
  async cleanup(id: string): Promise<void> {
    const dir = this.stateDir(id);
    let meta: Meta | undefined;
    try {
      meta = await this.#meta(id);
    } catch {
      meta = undefined;
    }
    if (meta) {
      for (const name of ["attach", "ctl", "winsz"]) await rm(join(meta.bundle, name), { force: true });
      if (!meta.persistDir.startsWith(`${dir}/`)) {
        for (const name of ["exit", "oom"]) await rm(join(meta.persistDir, name), { force: true });
      }
    }
    await rm(dir, { recursive: true, force: true });
  }

  /**
   * exec runs an extra process in the running container `id` (docker's `exec`): `runc exec`
   * under its own conmon (`--exec --exec-attach`), see {@link startConmonExec}. The process spec
   * is derived from the container's own (`config.json` in its bundle) by
   * {@link execProcessSpec}: the exec's args, env merged over the container's, cwd (T2: never
   * under `/proc/self/fd`), user and terminal. With `attach` the handle carries the process's
   * stdio, connected before the process runs. runc's failure (a missing binary) is thrown as
   * docker words it: `OCI runtime exec failed: ...: unknown` (InvalidArgument with code
   * `ERR_EXEC_NOT_FOUND` / `ERR_EXEC_PERMISSION`). Exec state lives in
   * `<stateDir>/x/<execId>` and is removed when the process exits, or with the container's.
   */
  async exec(id: string, opts: RuntimeExecOptions): Promise<ExecHandle> {
    const dir = this.stateDir(id);
    if (!ID_RE.test(opts.execId))
      throw new InvalidArgument(
        `invalid exec id ${JSON.stringify(opts.execId)}: expected [a-zA-Z0-9][a-zA-Z0-9_.-]*`,
      );
    const meta = await this.#meta(id);
    let spec: Spec;
    try {
      spec = JSON.parse(await readFile(join(meta.bundle, "config.json"), "utf8")) as Spec;
    } catch (err) {
      throw new FailedPrecondition(`container ${id} has no runtime spec to exec in`, { cause: err });
    }
    if (!spec.process) throw new FailedPrecondition(`container ${id} has no process to exec next to`);
    const proc = execProcessSpec(spec.process, opts);
    const execDir = join(dir, "x", opts.execId);
    if (join(execDir, "attach").length > SUN_PATH_MAX) {
      throw new InvalidArgument(
        `exec state path ${execDir} is too long: ${execDir}/attach must fit in ${SUN_PATH_MAX} bytes`,
      );
    }
    try {
      await mkdir(execDir, { mode: 0o700 });
    } catch (err) {
      if (errnoCode(err) === "EEXIST") throw new AlreadyExists(`exec ${opts.execId} already exists in ${id}`);
      if (errnoCode(err) !== "ENOENT") throw err;
      await mkdir(execDir, { recursive: true, mode: 0o700 });
    }
    return startConmonExec({
      conmon: this.conmon,
      runc: this.runc,
      runcRoot: this.runcRoot,
      containerId: id,
      dir: execDir,
      process: proc,
      stdin: opts.stdin === true,
      attach: opts.attach !== false,
      size: opts.size,
      timeoutMs: this.#createTimeoutMs,
    });
  }

  async #meta(id: string): Promise<Meta> {
    const file = join(this.stateDir(id), "runtime.json");
    try {
      return JSON.parse(await readFile(file, "utf8")) as Meta;
    } catch (err) {
      if (errnoCode(err) === "ENOENT") throw new NotFound(`no such container in the runtime: ${id}`);
      throw err;
    }
  }

  async #forceDelete(id: string): Promise<void> {
    await this.#runc("delete", id, ["delete", "--force", id]).catch(() => {});
  }

  #runc(verb: string, id: string, args: string[]): Promise<string> {
    validateId(id);
    const wrapped = withClosedFds(this.runc, [`--root=${this.runcRoot}`, "--log-format=json", ...args]);
    return new Promise((res, rej) => {
      execFile(
        wrapped.cmd,
        wrapped.args,
        { timeout: 60_000, maxBuffer: 4 * 1024 * 1024 },
        (err, stdout, stderr) => {
          if (err) rej(runcCommandError(verb, id, String(stderr || err.message), err));
          else res(String(stdout));
        },
      );
    });
  }
}

/** lookPath resolves a bare command name against PATH (absolute paths are returned as is). */
function lookPath(cmd: string): string {
  if (cmd.includes("/")) return resolve(cmd);
  for (const dir of (
    process.env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  ).split(":")) {
    if (dir === "") continue;
    const candidate = join(dir, cmd);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return cmd;
}

function validateId(id: string): void {
  if (!ID_RE.test(id)) {
    throw new InvalidArgument(
      `invalid container id ${JSON.stringify(id)}: expected [a-zA-Z0-9][a-zA-Z0-9_.-]*`,
    );
  }
}

async function writeAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data, { mode: 0o600 });
  await rename(tmp, path);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** readSyncMessage reads conmon's first sync-pipe line (`{"pid": N}` or `{"pid": -1, "message": ...}`). */
function readSyncMessage(
  stream: Readable,
  timeoutMs: number,
): Promise<{ pid?: number; data?: number; message?: string } | undefined> {
  return new Promise((res, rej) => {
    let buf = "";
    const timer = setTimeout(() => {
      done();
      rej(new Internal(`conmon did not report within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onEnd);
    };
    const onData = (chunk: Buffer) => {
      buf += chunk.toString("utf8");
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      done();
      try {
        res(JSON.parse(buf.slice(0, nl)) as { pid?: number; data?: number; message?: string });
      } catch (err) {
        rej(
          new Internal(`malformed message from conmon: ${JSON.stringify(buf.slice(0, nl))}`, { cause: err }),
        );
      }
    };
    const onEnd = () => {
      done();
      res(undefined);
    };
    stream.on("data", onData);
    stream.on("end", onEnd);
    stream.on("error", onEnd);
  });
}
