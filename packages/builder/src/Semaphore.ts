/**
 * Semaphore bounds how many async tasks run at once (the build's concurrent stages: at most one
 * per CPU). Waiters are served in arrival order.
 */
export class Semaphore {
  #free: number;
  readonly #waiting: Array<() => void> = [];

  /** `permits` tasks may run at once (at least one). */
  constructor(permits: number) {
    this.#free = Math.max(1, permits);
  }

  /** run waits for a permit, runs `fn` and releases the permit however `fn` ends. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next !== undefined) next();
      else this.#free++;
    }
  }
}
