/**
 * Mutex is an in-process async lock: `run(fn)` executes callers one at a time
 * in arrival order. Used to serialise read-modify-write cycles of an index.
 */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  /** run waits for earlier holders, then runs `fn` exclusively and returns its result. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(fn, fn);
    this.#tail = next.catch(() => undefined);
    return next;
  }
}
