/**
 * Semaphore bounds how many async tasks run at once: `run(fn)` waits for one of
 * `limit` slots, first come first served, and frees it when `fn` settles.
 * First-come order matters to callers whose later tasks wait on earlier ones.
 */
export class Semaphore {
  readonly limit: number;
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(limit: number) {
    this.limit = Math.max(1, Math.floor(limit));
  }

  /** run waits for a free slot, then runs `fn` and returns its result. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active >= this.limit || this.#waiting.length > 0) {
      await new Promise<void>((res) => this.#waiting.push(res));
    } else {
      this.#active++;
    }
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next !== undefined) next();
      else this.#active--;
    }
  }
}
