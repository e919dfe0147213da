/**
 * dropWritten returns what remains of `bufs` after a writev wrote its first `n` bytes (buffers
 * written whole are dropped, a partly written one is cut), for the retry of a short write.
 */
export function dropWritten(bufs: readonly Buffer[], n: number): Buffer[] {
  let skip = n;
  const rest: Buffer[] = [];
  for (const b of bufs) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    rest.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return rest;
}
