import { execFileSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Bundles berthd and berth once for the whole integration run (vitest globalSetup), before any
 * test process starts: test files then share one build instead of each rebuilding apps/*\/dist
 * while other files may be running the previous one.
 */
export default function setup(): void {
  const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
  for (const app of ["daemon", "cli"]) {
    execFileSync("npx", ["tsup", "--silent"], { cwd: join(repo, "apps", app), stdio: "inherit" });
  }
  process.env.BERTH_TEST_APPS_BUILT = "1";
}
