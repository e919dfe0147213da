import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Unavailable } from "@berth/errdefs";

const execFileAsync = promisify(execFile);

/** MIN_SAFE_RUNC is the first upstream runc release with the CVE-2024-21626 fix. */
export const MIN_SAFE_RUNC = "1.1.12";

/** RuncVersionReport is what {@link checkRuncVersion} found and concluded. */
export interface RuncVersionReport {
  /** Upstream version, e.g. `1.1.5` (suffixes such as `+ds1` dropped). */
  readonly version: string;
  /** The `commit:` line, which for Debian builds is the package version (`1.1.5+ds1-1+deb12u1`). */
  readonly commit: string | undefined;
  /** True when the version is at least {@link MIN_SAFE_RUNC}. */
  readonly upToDate: boolean;
  /** CVE fixes a distribution backported into this older version (known Debian builds only). */
  readonly backportedFixes: readonly string[];
  /** Human-readable warnings; empty when nothing needs saying. */
  readonly warnings: readonly string[];
}

/** Debian package revisions whose changelog backports fixes into an older upstream version. */
const DEBIAN_BACKPORTS: Readonly<Record<string, readonly string[]>> = {
  "1.1.5+ds1-1+deb12u1": ["CVE-2024-21626", "CVE-2023-25809", "CVE-2023-27561", "CVE-2023-28642"],
};

function compare(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** parseRuncVersion reads `runc --version` output into a report (pure, for tests). */
export function parseRuncVersion(output: string): RuncVersionReport {
  const m = /^runc version (\d+\.\d+\.\d+)\S*/m.exec(output);
  if (!m) throw new Unavailable(`cannot parse runc version from ${JSON.stringify(output.slice(0, 200))}`);
  const version = m[1]!;
  const commit = /^commit:\s*(\S+)/m.exec(output)?.[1];
  const upToDate = compare(version, MIN_SAFE_RUNC) >= 0;
  const backportedFixes = (commit !== undefined ? DEBIAN_BACKPORTS[commit] : undefined) ?? [];
  const warnings: string[] = [];
  if (!upToDate) {
    if (backportedFixes.includes("CVE-2024-21626")) {
      warnings.push(
        `runc ${version} is older than ${MIN_SAFE_RUNC}; the distribution build ${commit} backports ` +
          `${backportedFixes.join(", ")}, but not the later fixes CVE-2024-45310 (1.1.14) and ` +
          "CVE-2025-31133/CVE-2025-52565/CVE-2025-52881 (1.2.8): upgrade runc when you can",
      );
    } else {
      warnings.push(
        `runc ${version} is older than ${MIN_SAFE_RUNC} and is vulnerable to CVE-2024-21626 ` +
          "(container breakout through a leaked host fd); upgrade runc",
      );
    }
  }
  return { version, commit, upToDate, backportedFixes, warnings };
}

/**
 * checkRuncVersion runs `<runc> --version` and applies the version gate of
 * threat row T1: runc older than 1.1.12 gets a loud warning (not a refusal,
 * because Debian's 1.1.5+ds1-1+deb12u1 carries the CVE-2024-21626 fix).
 */
export async function checkRuncVersion(runc = "runc"): Promise<RuncVersionReport> {
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(runc, ["--version"], { timeout: 10_000 }));
  } catch (err) {
    throw new Unavailable(`cannot run ${runc} --version: ${(err as Error).message}`, { cause: err });
  }
  return parseRuncVersion(stdout);
}
