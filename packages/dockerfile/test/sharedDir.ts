import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** sharedDir is $BERTH_SHARED_DIR, else <repo>/../shared. */
export function sharedDir(): string {
  const env = process.env.BERTH_SHARED_DIR;
  if (env !== undefined && env !== "") return env;
  const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
  return join(repo, "..", "shared");
}

/** conformanceDir is a conformance folder, or undefined when it is missing (the suite is skipped). */
export function conformanceDir(name: string): string | undefined {
  const dir = join(sharedDir(), "conformance", name);
  return existsSync(dir) ? dir : undefined;
}
