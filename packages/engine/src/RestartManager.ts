/**
 * RestartManager decides, for one container, whether an exit is followed by a restart and after
 * which delay, with docker's back-off: the first delay is 100 ms, each next one doubles, capped at
 * one minute, and back to 100 ms once a run lasted 10 s or more. It holds no container state beyond
 * the count and the current delay, and takes its timers from a {@link RestartClock}, so it can be
 * tested with a fake clock.
 */

/** The restart policy as stored in `HostConfig.RestartPolicy`. */
export interface RestartPolicy {
  Name?: string;
  MaximumRetryCount?: number;
}

/** RestartClock is the timer source; the default is the real one. */
export interface RestartClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The first back-off delay. */
export const RESTART_DELAY_MIN_MS = 100;
/** The longest back-off delay. */
export const RESTART_DELAY_MAX_MS = 60_000;
/** A run at least this long resets the back-off. */
export const RESTART_RESET_AFTER_MS = 10_000;

/** RestartDecision is the answer to an exit: stay down, or restart after `delayMs`. */
export type RestartDecision = { restart: false } | { restart: true; delayMs: number };

const realClock: RestartClock = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** isRestartPolicySet tells whether a policy ever restarts (anything but "" and "no"). */
export function isRestartPolicySet(policy: RestartPolicy | undefined): boolean {
  const name = policy?.Name ?? "";
  return name !== "" && name !== "no";
}

/** RestartManager is one container's restart bookkeeping (see the module comment). */
export class RestartManager {
  readonly #policy: RestartPolicy;
  readonly #clock: RestartClock;
  #count: number;
  #delayMs = 0;
  #cancelled = false;
  #pending: { handle: unknown; resolve: (ok: boolean) => void } | undefined;

  constructor(opts: { policy: RestartPolicy | undefined; restartCount?: number; clock?: RestartClock }) {
    this.#policy = opts.policy ?? {};
    this.#count = opts.restartCount ?? 0;
    this.#clock = opts.clock ?? realClock;
  }

  /** restartCount is the number of restarts this manager granted, plus the count it started from. */
  get restartCount(): number {
    return this.#count;
  }

  /** cancelled tells whether {@link cancel} was called (then no restart is granted any more). */
  get cancelled(): boolean {
    return this.#cancelled;
  }

  /** pending tells whether a granted restart is waiting for its delay. */
  get pending(): boolean {
    return this.#pending !== undefined;
  }

  /**
   * decide answers an exit with `exitCode` after a run of `runMs`. `manuallyStopped` is true when
   * the API stopped or killed the container (then `unless-stopped` stays down). A granted restart
   * counts towards `on-failure:N` at once.
   */
  decide(exitCode: number, manuallyStopped: boolean, runMs: number): RestartDecision {
    if (!isRestartPolicySet(this.#policy) || this.#cancelled) return { restart: false };
    if (runMs >= RESTART_RESET_AFTER_MS) this.#delayMs = 0;
    this.#delayMs =
      this.#delayMs === 0 ? RESTART_DELAY_MIN_MS : Math.min(this.#delayMs * 2, RESTART_DELAY_MAX_MS);
    let restart = false;
    switch (this.#policy.Name) {
      case "always":
        restart = true;
        break;
      case "unless-stopped":
        restart = !manuallyStopped;
        break;
      case "on-failure": {
        const max = this.#policy.MaximumRetryCount ?? 0;
        restart = exitCode !== 0 && (max <= 0 || this.#count < max);
        break;
      }
    }
    if (!restart) return { restart: false };
    this.#count++;
    return { restart: true, delayMs: this.#delayMs };
  }

  /**
   * wait resolves true once `delayMs` elapsed, or false if {@link cancel} came first. One wait at a
   * time: a second call cancels the first.
   */
  wait(delayMs: number): Promise<boolean> {
    this.#settle(false);
    if (this.#cancelled) return Promise.resolve(false);
    return new Promise((resolve) => {
      const handle = this.#clock.setTimeout(() => this.#settle(true), delayMs);
      this.#pending = { handle, resolve };
    });
  }

  /** cancel drops a pending restart and refuses every later one (docker's "exit on next"). */
  cancel(): void {
    this.#cancelled = true;
    this.#settle(false);
  }

  #settle(ok: boolean): void {
    const p = this.#pending;
    if (!p) return;
    this.#pending = undefined;
    if (!ok) this.#clock.clearTimeout(p.handle);
    p.resolve(ok);
  }
}
