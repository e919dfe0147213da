import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { InvalidArgument } from "@berth/errdefs";
import { writeFileAtomic } from "@berth/image";
import { containerEventOf } from "./Containers.ts";
import type { Events } from "./Events.ts";
import type { Execs } from "./Execs.ts";
import type { ContainerRecord } from "./types.ts";

/** HealthConfig is docker's `Config.Healthcheck`; durations are nanoseconds, 0 means the default. */
export interface HealthConfig {
  Test?: string[] | null;
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** HealthLogEntry is one probe result as docker's `State.Health.Log` shows it. */
export interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

/** HealthStatus is docker's health word. */
export type HealthStatus = "starting" | "healthy" | "unhealthy";

/** HealthState is docker's `State.Health`. */
export interface HealthState {
  Status: HealthStatus;
  FailingStreak: number;
  Log: HealthLogEntry[];
}

/** Docker's defaults (daemon/health.go). */
export const HEALTH_DEFAULTS = {
  intervalMs: 30_000,
  timeoutMs: 30_000,
  startPeriodMs: 0,
  startIntervalMs: 5_000,
  retries: 3,
} as const;
/** MAX_HEALTH_OUTPUT bounds the output kept per probe (docker's maxOutputLen). */
export const MAX_HEALTH_OUTPUT = 4096;
/** MAX_HEALTH_LOG is how many probe results `State.Health.Log` keeps (docker's maxLogEntries). */
export const MAX_HEALTH_LOG = 5;

/** What the monitor needs from the engine. */
export interface HealthMonitorDeps {
  execs: Execs;
  events: Events;
  /** Looks a container up by ID (undefined once it is gone). */
  get: (id: string) => ContainerRecord | undefined;
  /** The directory where the container's `health.json` is kept. */
  dirOf: (id: string) => string;
  log?: (msg: string) => void;
}

/** probeOf turns a healthcheck's `Test` into the command to exec, or undefined when there is none. */
export function probeOf(rec: ContainerRecord): string[] | undefined {
  const hc = rec.config.Healthcheck as HealthConfig | null | undefined;
  const test = hc?.Test ?? [];
  const kind = test[0];
  if (kind === undefined || kind === "NONE") return undefined;
  if (kind === "CMD") return test.length > 1 ? test.slice(1) : undefined;
  if (kind === "CMD-SHELL") {
    const shell = rec.config.Shell && rec.config.Shell.length > 0 ? rec.config.Shell : ["/bin/sh", "-c"];
    return [...shell, test.slice(1).join(" ")];
  }
  return undefined;
}

/**
 * validateHealthConfig refuses what dockerd refuses at create: durations set below 1ms and a
 * negative retry count (InvalidArgument with docker's messages).
 */
export function validateHealthConfig(hc: HealthConfig | null | undefined): void {
  if (!hc) return;
  for (const k of ["Interval", "Timeout", "StartPeriod", "StartInterval"] as const) {
    const v = hc[k];
    if (typeof v === "number" && v !== 0 && v < 1e6)
      throw new InvalidArgument(`${k} in Healthcheck cannot be less than 1ms`);
  }
  if (typeof hc.Retries === "number" && hc.Retries < 0)
    throw new InvalidArgument("Retries in Healthcheck cannot be negative");
}

/** goDuration prints milliseconds as Go's time.Duration String does for whole units ("30s", "1.5s", "500ms"). */
export function goDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${h > 0 ? `${h}h` : ""}${h > 0 || m > 0 ? `${m}m` : ""}${s}s`;
}

const ms = (ns: number | undefined, dflt: number) =>
  typeof ns === "number" && ns > 0 ? Math.floor(ns / 1e6) : dflt;

interface Armed {
  timer: NodeJS.Timeout | undefined;
  stopped: boolean;
  probing: Promise<void> | undefined;
}

/**
 * HealthMonitor runs containers' healthchecks with docker's semantics: a probe every `Interval`
 * (every `StartInterval` while `starting` within `StartPeriod`), through the exec service; a probe
 * that exceeds `Timeout` is killed and counts as a failure (exit -1); exit 0 is healthy; failures
 * during the start period do not count; `Retries` consecutive failures make it unhealthy. The last
 * {@link MAX_HEALTH_LOG} results are kept with at most {@link MAX_HEALTH_OUTPUT} bytes of output.
 * Status changes emit `health_status: <status>` events. State is written to `health.json` beside
 * the container, so inspect and ps keep it across a daemon restart, where `restore` re-arms the
 * monitors of running containers.
 */
export class HealthMonitor {
  readonly #d: HealthMonitorDeps;
  readonly #states = new Map<string, HealthState>();
  readonly #armed = new Map<string, Armed>();

  constructor(deps: HealthMonitorDeps) {
    this.#d = deps;
    deps.events.subscribe((m) => {
      if (m.Type !== "container") return;
      if (m.Action === "start") {
        const rec = deps.get(m.Actor.ID);
        if (rec) this.arm(rec, true);
      } else if (m.Action === "unpause") {
        // As dockerd's updateHealthMonitor: no probes while paused, the same state after.
        const rec = deps.get(m.Actor.ID);
        if (rec) this.arm(rec, false);
      } else if (m.Action === "die" || m.Action === "pause") this.disarm(m.Actor.ID, true);
      else if (m.Action === "destroy") {
        this.disarm(m.Actor.ID);
        this.#states.delete(m.Actor.ID);
      }
    });
  }

  /** get returns a container's health (undefined when it has no healthcheck or never ran with one). */
  get(id: string): HealthState | undefined {
    return this.#states.get(id);
  }

  /** statusOf is the health word of a container for ps and filters; "none" without a healthcheck. */
  statusOf(id: string): HealthStatus | "none" {
    return this.#states.get(id)?.Status ?? "none";
  }

  /**
   * arm starts probing a running container that has a healthcheck. `fresh` (a start) resets the
   * status to `starting` and the failing streak, as docker's initHealthMonitor does.
   */
  arm(rec: ContainerRecord, fresh: boolean): void {
    this.disarm(rec.id);
    const probe = probeOf(rec);
    if (!probe) return;
    const prev = this.#states.get(rec.id);
    const state: HealthState =
      fresh || !prev ? { Status: "starting", FailingStreak: 0, Log: prev?.Log ?? [] } : prev;
    this.#states.set(rec.id, state);
    if (fresh) void this.#persist(rec.id);
    const armed: Armed = { timer: undefined, stopped: false, probing: undefined };
    this.#armed.set(rec.id, armed);
    this.#schedule(rec.id, armed);
  }

  /**
   * disarm stops probing a container; a running probe's result is dropped. With `markUnhealthy`
   * (the container stopped or paused) the status becomes `unhealthy`, as dockerd's
   * CloseMonitorChannel does "for compatibility reasons"; the next start resets it to `starting`.
   */
  disarm(id: string, markUnhealthy = false): void {
    const a = this.#armed.get(id);
    if (!a) return;
    a.stopped = true;
    if (a.timer) clearTimeout(a.timer);
    this.#armed.delete(id);
    const state = this.#states.get(id);
    if (markUnhealthy && state) {
      state.Status = "unhealthy";
      void this.#persist(id);
    }
  }

  /** restore loads saved health and re-arms running containers (at daemon start). */
  async restore(records: ContainerRecord[]): Promise<void> {
    for (const rec of records) {
      try {
        const saved = JSON.parse(await readFile(join(this.#d.dirOf(rec.id), "health.json"), "utf8"));
        if (saved && typeof saved.Status === "string") this.#states.set(rec.id, saved as HealthState);
      } catch {
        // no health recorded
      }
      if (rec.state.status === "running") this.arm(rec, false);
    }
  }

  /** close stops every monitor (daemon shutdown). */
  close(): void {
    for (const id of [...this.#armed.keys()]) this.disarm(id);
  }

  #interval(rec: ContainerRecord): number {
    const hc = (rec.config.Healthcheck ?? {}) as HealthConfig;
    const interval = ms(hc.Interval, HEALTH_DEFAULTS.intervalMs);
    const startPeriod = ms(hc.StartPeriod, HEALTH_DEFAULTS.startPeriodMs);
    const startInterval = ms(hc.StartInterval, HEALTH_DEFAULTS.startIntervalMs);
    if (Date.now() - Date.parse(rec.state.startedAt) >= startPeriod) return interval;
    return this.#states.get(rec.id)?.Status === "starting" ? startInterval : interval;
  }

  #schedule(id: string, armed: Armed): void {
    const rec = this.#d.get(id);
    if (!rec || armed.stopped) return;
    armed.timer = setTimeout(() => {
      armed.timer = undefined;
      armed.probing = this.#probe(id, armed)
        .catch((err: unknown) => this.#d.log?.(`health ${id}: ${(err as Error).message}`))
        .finally(() => {
          armed.probing = undefined;
          this.#schedule(id, armed);
        });
    }, this.#interval(rec));
    armed.timer.unref();
  }

  async #probe(id: string, armed: Armed): Promise<void> {
    const rec = this.#d.get(id);
    const cmd = rec ? probeOf(rec) : undefined;
    if (!rec || !cmd || rec.state.status !== "running") return;
    const hc = (rec.config.Healthcheck ?? {}) as HealthConfig;
    const timeoutMs = ms(hc.Timeout, HEALTH_DEFAULTS.timeoutMs);
    const start = new Date();
    const result = await this.#run(rec, cmd, timeoutMs);
    if (armed.stopped) return;
    this.#record(rec, hc, { Start: rfc3339Nano(start), End: rfc3339Nano(new Date()), ...result }, start);
  }

  /** #run execs the probe and collects its output; a timeout kills it (exit -1, docker's message). */
  async #run(
    rec: ContainerRecord,
    cmd: string[],
    timeoutMs: number,
  ): Promise<{ ExitCode: number; Output: string }> {
    const execs = this.#d.execs;
    let execId: string | undefined;
    try {
      execId = execs.create(rec.id, {
        Cmd: cmd,
        AttachStdin: false,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
      }).Id;
      const out = new LimitedBuffer(MAX_HEALTH_OUTPUT);
      const session = await execs.start(execId, {});
      const drained: Promise<void>[] = [];
      if (session) {
        for (const s of [session.stdout, session.stderr]) {
          s.on("data", (c: Buffer) => out.write(c));
          drained.push(
            new Promise((r) => {
              s.once("end", () => r());
              s.once("close", () => r());
            }),
          );
        }
      }
      const id = execId;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((r) => {
        timer = setTimeout(() => r("timeout"), timeoutMs);
      });
      const code = await Promise.race([execs.waitExit(id), timedOut]);
      clearTimeout(timer);
      if (code === "timeout") {
        const pid = execs.inspect(id).Pid;
        if (pid > 0) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // already gone
          }
        }
        session?.close();
        return { ExitCode: -1, Output: `Health check exceeded timeout (${goDuration(timeoutMs)})` };
      }
      await Promise.race([Promise.all(drained), new Promise((r) => setTimeout(r, 1000).unref())]);
      return { ExitCode: code, Output: out.toString() };
    } catch (err) {
      return { ExitCode: -1, Output: (err as Error).message };
    } finally {
      if (execId) {
        const id = execId;
        // The exec's record goes once its exit is known (as dockerd unregisters probe execs).
        void execs
          .waitExit(id)
          .catch(() => undefined)
          .finally(() => execs.remove(id));
      }
    }
  }

  #record(rec: ContainerRecord, hc: HealthConfig, entry: HealthLogEntry, start: Date): void {
    const state = this.#states.get(rec.id);
    if (!state) return;
    const old = state.Status;
    state.Log = [...state.Log, entry].slice(-MAX_HEALTH_LOG);
    if (entry.ExitCode === 0) {
      state.FailingStreak = 0;
      state.Status = "healthy";
    } else {
      let count = true;
      if (state.Status === "starting") {
        const startPeriod = ms(hc.StartPeriod, HEALTH_DEFAULTS.startPeriodMs);
        if (start.getTime() - Date.parse(rec.state.startedAt) < startPeriod) count = false;
      }
      if (count) {
        state.FailingStreak++;
        const retries =
          typeof hc.Retries === "number" && hc.Retries > 0 ? hc.Retries : HEALTH_DEFAULTS.retries;
        if (state.FailingStreak >= retries) state.Status = "unhealthy";
      }
    }
    void this.#persist(rec.id);
    if (state.Status !== old) this.#d.events.emit(containerEventOf(rec, `health_status: ${state.Status}`));
  }

  async #persist(id: string): Promise<void> {
    const state = this.#states.get(id);
    if (!state || !this.#d.get(id)) return;
    try {
      await writeFileAtomic(join(this.#d.dirOf(id), "health.json"), JSON.stringify(state));
    } catch (err) {
      this.#d.log?.(`health ${id}: saving state: ${(err as Error).message}`);
    }
  }
}

/** LimitedBuffer keeps the first `max` bytes written to it (docker's limitedBuffer). */
class LimitedBuffer {
  readonly #chunks: Buffer[] = [];
  #size = 0;
  constructor(readonly max: number) {}
  write(c: Buffer): void {
    const room = this.max - this.#size;
    if (room <= 0) return;
    const part = c.length > room ? c.subarray(0, room) : c;
    this.#chunks.push(part);
    this.#size += part.length;
  }
  toString(): string {
    return Buffer.concat(this.#chunks).toString("utf8");
  }
}

function rfc3339Nano(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000000Z");
}
