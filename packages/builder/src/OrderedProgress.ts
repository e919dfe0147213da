import type { BuildProgress } from "./types.ts";

/**
 * OrderedProgress keeps the classic builder's output in Dockerfile order while stages run
 * concurrently: channel 0 writes through; a later channel is buffered until every channel before
 * it is closed, then its buffer is flushed and it writes through too. The stream therefore reads
 * exactly as if the stages had run one after the other (docker's classic builder prints steps in
 * order), while the work overlaps.
 */
export class OrderedProgress {
  readonly #out: (e: BuildProgress) => void;
  readonly #buffers: BuildProgress[][];
  readonly #closed: boolean[];
  /** The channel currently writing through. */
  #live = 0;

  /** `channels` is the number of stages in the plan; `out` receives the ordered events. */
  constructor(channels: number, out: (e: BuildProgress) => void) {
    this.#out = out;
    this.#buffers = Array.from({ length: channels }, () => []);
    this.#closed = Array.from({ length: channels }, () => false);
  }

  /** emitter returns the progress function for channel `i`. */
  emitter(i: number): (e: BuildProgress) => void {
    return (e) => {
      if (i === this.#live) this.#out(e);
      else this.#buffers[i]?.push(e);
    };
  }

  /** close marks channel `i` finished; later channels that are due are flushed. */
  close(i: number): void {
    this.#closed[i] = true;
    while (this.#live < this.#closed.length && this.#closed[this.#live] === true) {
      this.#live++;
      this.#flush(this.#live);
    }
  }

  /**
   * flushThrough writes the buffered events of channels up to `i` in order, after channel `i`
   * failed: what the classic builder would have printed before the failure. Later channels are
   * dropped.
   */
  flushThrough(i: number): void {
    for (let k = this.#live + 1; k <= i && k < this.#buffers.length; k++) this.#flush(k);
    this.#live = this.#buffers.length;
  }

  #flush(i: number): void {
    const buf = this.#buffers[i];
    if (buf === undefined) return;
    this.#buffers[i] = [];
    for (const e of buf) this.#out(e);
  }
}
