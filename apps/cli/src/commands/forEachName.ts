/**
 * forEachName: docker's pattern for commands over several containers (stop, kill, rm, restart,
 * wait): run the operation for each name (in parallel unless `sequential`), print each name
 * that succeeded in argument order, then all errors on stderr; exit 1 if any failed.
 *
 * @since 0.1.0
 */
import { describeError } from "../daemonError.ts";

/** ForEachOptions tune {@link forEachName}. */
export interface ForEachOptions {
  /** Run one after the other (restart, wait). */
  readonly sequential?: boolean;
  /** Returns true for an error that is printed right away but does not fail the command (rm -f of a missing container). */
  readonly tolerate?: (err: unknown) => boolean;
  /** What to print on success (default: the name). */
  readonly output?: (name: string, result: unknown) => string;
}

/** forEachName runs `op` per name and returns the exit code. */
export async function forEachName(
  names: readonly string[],
  op: (name: string) => Promise<unknown>,
  opts: ForEachOptions = {},
): Promise<number> {
  const results: Array<PromiseSettledResult<unknown>> = [];
  if (opts.sequential) {
    for (const n of names) {
      try {
        results.push({ status: "fulfilled", value: await op(n) });
      } catch (reason) {
        results.push({ status: "rejected", reason });
      }
    }
  } else {
    results.push(...(await Promise.allSettled(names.map((n) => op(n)))));
  }
  const errors: string[] = [];
  results.forEach((r, i) => {
    const name = names[i] as string;
    if (r.status === "fulfilled") {
      process.stdout.write(`${opts.output ? opts.output(name, r.value) : name}\n`);
    } else if (opts.tolerate?.(r.reason)) {
      process.stderr.write(`${describeError(r.reason)}\n`);
    } else {
      errors.push(describeError(r.reason));
    }
  });
  if (errors.length > 0) {
    process.stderr.write(`${errors.join("\n")}\n`);
    return 1;
  }
  return 0;
}
