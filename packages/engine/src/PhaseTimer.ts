/**
 * PhaseTimer measures the phases of one engine operation (a container start: mount, network,
 * spec, runtime create, start) when `BERTH_TRACE_PHASES=1` is set in berthd's environment, and
 * reports them as one log line: `start <id>: mount 3.1 net 21.0 spec 1.2 ... total 140.2 ms`.
 * Without the variable it costs one property read per mark.
 */
export class PhaseTimer {
  readonly #on = process.env.BERTH_TRACE_PHASES === "1";
  readonly #t0 = this.#on ? performance.now() : 0;
  #last = this.#t0;
  readonly #parts: string[] = [];

  /** mark ends the phase named `name` (the time since the previous mark or the start). */
  mark(name: string): void {
    if (!this.#on) return;
    const now = performance.now();
    this.#parts.push(`${name} ${(now - this.#last).toFixed(1)}`);
    this.#last = now;
  }

  /** report hands the summary to `log` (nothing when tracing is off). */
  report(what: string, log: (msg: string) => void): void {
    if (!this.#on) return;
    log(`${what}: ${this.#parts.join(" ")} total ${(performance.now() - this.#t0).toFixed(1)} ms`);
  }
}
