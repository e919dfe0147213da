import type { EventEmitter } from "node:events";

/**
 * onDrainOrClose calls `fn` once, when `stream` next emits `drain` or `close`: the wait of a
 * writer whose `write` returned false, which must also end if the stream is destroyed meanwhile.
 */
export function onDrainOrClose(stream: EventEmitter, fn: () => void): void {
  const done = () => {
    stream.off("drain", done);
    stream.off("close", done);
    fn();
  };
  stream.on("drain", done);
  stream.on("close", done);
}

/** drainOrClose is {@link onDrainOrClose} as a promise. */
export function drainOrClose(stream: EventEmitter): Promise<void> {
  return new Promise((resolve) => onDrainOrClose(stream, resolve));
}
