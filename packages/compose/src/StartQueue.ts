/**
 * StartQueue bounds how many container starts a project has in flight and serves the waiting ones
 * by priority, then in arrival order. Starting a container is CPU-bound in the engine (runc create),
 * so ten at once on two cores all finish late together; a bounded queue lets the first ones finish
 * early. `up` gives services with a healthcheck the first turns: their first probe runs one interval
 * after their start, and `--wait` and `depends_on: service_healthy` wait for it.
 */
export class StartQueue {
  #free: number;
  readonly #waiting: Array<{ priority: number; seq: number; go: () => void }> = [];
  #seq = 0;

  /** At most `permits` (at least one) starts run at once. */
  constructor(permits: number) {
    this.#free = Math.max(1, permits);
  }

  /** run waits for a turn (lower `priority` first), runs `fn` and gives the turn on however it ends. */
  async run<T>(priority: number, fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else
      await new Promise<void>((go) => {
        this.#waiting.push({ priority, seq: this.#seq++, go });
        this.#waiting.sort((a, b) => a.priority - b.priority || a.seq - b.seq);
      });
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next !== undefined) next.go();
      else this.#free++;
    }
  }
}
