import { randomBytes } from "node:crypto";
import { Conflict, InvalidArgument, NotFound } from "@berth/errdefs";
import { AttachSession } from "./AttachSession.ts";
import type { RuntimeExecHandle, RuntimeExecRequest } from "./backends.ts";
import { type Containers, containerEventOf } from "./Containers.ts";
import type { Events } from "./Events.ts";
import type { ContainerRecord } from "./types.ts";

/** ExecConfig is docker's exec create body (`POST /containers/{id}/exec`). */
export interface ExecConfig {
  Cmd?: string[] | null;
  Env?: string[] | null;
  User?: string;
  WorkingDir?: string;
  Tty?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Privileged?: boolean;
  DetachKeys?: string;
  ConsoleSize?: [number, number] | number[] | null;
  [key: string]: unknown;
}

/** ExecInspect is docker's `GET /exec/{id}/json` answer, in docker's field order. */
export interface ExecInspect {
  ID: string;
  Running: boolean;
  ExitCode: number | null;
  ProcessConfig: {
    tty: boolean;
    entrypoint: string;
    arguments: string[];
    privileged: boolean;
    user?: string;
  };
  OpenStdin: boolean;
  OpenStderr: boolean;
  OpenStdout: boolean;
  CanRemove: boolean;
  ContainerID: string;
  DetachKeys: string;
  Pid: number;
}

/** ExecStartOptions: docker's start body (`Detach`), plus the initial terminal size. */
export interface ExecStartOptions {
  detach?: boolean;
  size?: { height: number; width: number };
}

/** ExecRuntime is what Execs needs from the runtime: run a process in a container. */
export type ExecRuntime = (containerId: string, req: RuntimeExecRequest) => Promise<RuntimeExecHandle>;

interface ExecRecord {
  id: string;
  containerId: string;
  config: ExecConfig;
  state: "created" | "running" | "exited";
  exitCode: number | null;
  pid: number;
  handle?: RuntimeExecHandle;
}

/** EXEC_DIR_CHARS: the runtime names an exec's state dir by this prefix of its ID (socket path limits). */
export const EXEC_DIR_CHARS = 20;

/**
 * Execs is the exec service (docker's `exec`): records live in memory only (exec sessions do not
 * outlive the daemon, as with dockerd) and are dropped when their container stops or is removed.
 * Lifecycle: `create` (the container must be running: 409 otherwise) -> `start` (once; attached,
 * streaming like attach with stdin half-close, or detached) -> `inspect` (docker's ExecInspect)
 * and `resize` while it runs.
 */
export class Execs {
  readonly #containers: Containers;
  readonly #run: ExecRuntime;
  readonly #resolveUser: RuntimeUserResolver;
  readonly #execs = new Map<string, ExecRecord>();
  readonly #log: (msg: string) => void;
  readonly #bus: Events | undefined;

  constructor(deps: {
    containers: Containers;
    exec: ExecRuntime;
    resolveUser: RuntimeUserResolver;
    log?: (msg: string) => void;
    /** The engine's event bus: exec_create, exec_start and exec_die are published there. */
    events?: Events;
  }) {
    this.#bus = deps.events;
    this.#containers = deps.containers;
    this.#run = deps.exec;
    this.#resolveUser = deps.resolveUser;
    this.#log = deps.log ?? (() => {});
    this.#containers.onEvent((ev) => {
      if (ev.action === "die" || ev.action === "destroy") this.#dropContainer(ev.id);
    });
  }

  /** create registers an exec in a running container and returns docker's `{Id}`. */
  create(idOrName: string, config: ExecConfig): { Id: string } {
    const rec = this.#containers.find(idOrName);
    this.#checkRunning(rec);
    if (!Array.isArray(config.Cmd) || config.Cmd.length === 0)
      throw new InvalidArgument("No exec command specified");
    if (config.WorkingDir && !config.WorkingDir.startsWith("/"))
      throw new InvalidArgument(
        `the working directory '${config.WorkingDir}' is invalid, it needs to be an absolute path`,
      );
    let id: string;
    do id = randomBytes(32).toString("hex");
    while ([...this.#execs.keys()].some((k) => k.slice(0, EXEC_DIR_CHARS) === id.slice(0, EXEC_DIR_CHARS)));
    this.#execs.set(id, {
      id,
      containerId: rec.id,
      config: { ...config },
      state: "created",
      exitCode: null,
      pid: 0,
    });
    this.#emit(rec, `exec_create: ${commandLine(config.Cmd)}`, { execID: id });
    return { Id: id };
  }

  /**
   * start runs the exec. Attached (the default), it resolves with a session whose `stdout` and
   * `stderr` carry the output (both end when the process's stdio closes) and whose `stdin` feeds
   * the process (ending it half-closes the process's stdin). Detached, it resolves undefined once
   * the process runs. A runtime failure (a missing binary) rejects with docker's message, and the
   * exec records exit code 127 (not found) or 126 (not executable).
   */
  async start(execId: string, opts: ExecStartOptions = {}): Promise<AttachSession | undefined> {
    const ex = this.#get(execId);
    if (ex.state !== "created") throw new Conflict(`Error: Exec command ${ex.id} is already running`);
    const rec = this.#containers.find(ex.containerId);
    this.#checkRunning(rec);
    ex.state = "running";
    const c = ex.config;
    const attach = opts.detach !== true;
    const cs = c.ConsoleSize;
    const size =
      opts.size ??
      (Array.isArray(cs) && cs.length === 2 && cs[0]! > 0 && cs[1]! > 0
        ? { height: cs[0]!, width: cs[1]! }
        : undefined);
    const stdin = attach && c.AttachStdin === true;
    let handle: RuntimeExecHandle;
    try {
      const userSpec = c.User && c.User !== "" ? c.User : (rec.config.User ?? "");
      const user = await this.#resolveUser(rec, userSpec);
      handle = await this.#run(rec.id, {
        execId: ex.id.slice(0, EXEC_DIR_CHARS),
        args: c.Cmd ?? [],
        env: c.Env ?? [],
        ...(c.WorkingDir ? { cwd: c.WorkingDir } : {}),
        user,
        terminal: c.Tty === true,
        privileged: c.Privileged === true,
        stdin,
        attach,
        ...(size ? { size } : {}),
      });
    } catch (err) {
      const message = (err as Error).message;
      ex.state = "exited";
      ex.exitCode = /executable file not found|no such file or directory/.test(message)
        ? 127
        : /permission denied|exec format error|is a directory/.test(message)
          ? 126
          : 126;
      throw err;
    }
    ex.handle = handle;
    ex.pid = handle.pid;
    this.#emit(rec, `exec_start: ${commandLine(c.Cmd ?? [])}`, { execID: ex.id });
    let session: AttachSession | undefined;
    if (attach && handle.attachment) {
      session = new AttachSession(
        { stdin, stdout: c.AttachStdout !== false, stderr: c.AttachStderr !== false },
        true,
      );
      session.connect(handle.attachment);
    }
    handle.waitExit().then(
      (code) => {
        ex.state = "exited";
        ex.exitCode = code;
        delete ex.handle;
        this.#emit(rec, "exec_die", { execID: ex.id, exitCode: String(code) });
      },
      (err: unknown) => {
        ex.state = "exited";
        ex.exitCode = ex.exitCode ?? 126;
        delete ex.handle;
        this.#log(`exec ${ex.id}: ${(err as Error).message}`);
      },
    );
    return session;
  }

  /** waitExit resolves with the exec's exit code once it has one (for embedded callers). */
  async waitExit(execId: string): Promise<number> {
    const ex = this.#get(execId);
    if (ex.handle) return ex.handle.waitExit();
    if (ex.exitCode !== null) return ex.exitCode;
    throw new Conflict(`exec ${ex.id} has not been started`);
  }

  /** resize sets the exec's terminal size (docker ignores it for an exec without a TTY). */
  async resize(execId: string, size: { height: number; width: number }): Promise<void> {
    const ex = this.#get(execId);
    if (!ex.handle) throw new Conflict(`Exec ${ex.id} is not running`);
    if (ex.config.Tty !== true) return;
    await ex.handle.resize(size);
  }

  /** inspect is docker's ExecInspect. */
  inspect(execId: string): ExecInspect {
    const ex = this.#get(execId);
    const c = ex.config;
    const cmd = c.Cmd ?? [];
    return {
      ID: ex.id,
      Running: ex.state === "running",
      ExitCode: ex.exitCode,
      ProcessConfig: {
        tty: c.Tty === true,
        entrypoint: cmd[0] ?? "",
        arguments: cmd.slice(1),
        privileged: c.Privileged === true,
        ...(c.User ? { user: c.User } : {}),
      },
      OpenStdin: c.AttachStdin === true,
      OpenStderr: c.AttachStderr === true,
      OpenStdout: c.AttachStdout === true,
      CanRemove: false,
      ContainerID: ex.containerId,
      DetachKeys: c.DetachKeys ?? "",
      Pid: ex.pid,
    };
  }

  /** idsOf lists the running execs of a container (docker's `ExecIDs` in container inspect). */
  idsOf(containerId: string): string[] {
    return [...this.#execs.values()]
      .filter((e) => e.containerId === containerId && e.state === "running")
      .map((e) => e.id);
  }

  /** remove forgets a finished exec (the health monitor drops its probes as dockerd does). */
  remove(execId: string): void {
    const ex = this.#execs.get(execId);
    if (ex && ex.state !== "running") this.#execs.delete(execId);
  }

  #emit(rec: ContainerRecord, action: string, extra: Record<string, string>): void {
    this.#bus?.emit(containerEventOf(rec, action, extra));
  }

  #get(execId: string): ExecRecord {
    const ex = this.#execs.get(execId);
    if (!ex) throw new NotFound(`No such exec instance: ${execId}`);
    return ex;
  }

  #checkRunning(rec: ContainerRecord): void {
    if (rec.state.status === "paused")
      throw new Conflict(`Container ${rec.id} is paused, unpause the container before exec`);
    if (rec.state.status !== "running") throw new Conflict(`Container ${rec.id} is not running`);
  }

  #dropContainer(containerId: string): void {
    for (const [id, ex] of this.#execs) if (ex.containerId === containerId) this.#execs.delete(id);
  }
}

/** commandLine is docker's exec event detail: the entrypoint and its arguments joined by spaces. */
function commandLine(cmd: string[]): string {
  return [cmd[0] ?? "", cmd.slice(1).join(" ")].join(" ");
}

/** RuntimeUserResolver maps docker's `--user` to numbers inside the container's root file system. */
export type RuntimeUserResolver = (
  rec: ContainerRecord,
  user: string,
) => Promise<{ uid: number; gid: number; additionalGids: number[] }>;
