import type { RuntimeSpec } from "@berth/oci";
import { mergeEnv } from "./buildSpec.ts";
import type { ResolvedUser } from "./resolveUser.ts";
import { validateCwd } from "./validatePaths.ts";

/** ExecProcessOptions describe the extra process `docker exec` runs in a container. */
export interface ExecProcessOptions {
  /** The command and its arguments; must not be empty. */
  readonly args: readonly string[];
  /** `KEY=value` entries merged over the container's environment (same key: this one wins). */
  readonly env?: readonly string[];
  /** Working directory inside the container; default the container's. */
  readonly cwd?: string;
  /** Numeric identity (see `resolveUser`); default the container's. */
  readonly user?: ResolvedUser;
  /** Allocate a pseudo-terminal for the process. */
  readonly terminal?: boolean;
  /** Give the process every capability in the bounding set (docker's `exec --privileged`). */
  readonly privileged?: boolean;
}

/**
 * execProcessSpec derives the OCI process of an exec from the container's own process: same
 * capabilities, rlimits, no-new-privileges, AppArmor/SELinux labels; the exec's args, env merged
 * over the container's (plus `TERM=xterm` with a terminal, as docker), cwd (checked against the CVE-2024-21626 `/proc/self/fd` path, threat row
 * T2), user and terminal. A privileged exec gets the bounding set as every other set.
 */
export function execProcessSpec(
  container: RuntimeSpec.Process,
  opts: ExecProcessOptions,
): RuntimeSpec.Process {
  if (opts.args.length === 0) throw new TypeError("exec needs a command");
  const cwd = validateCwd(opts.cwd && opts.cwd !== "" ? opts.cwd : container.cwd || "/");
  const proc: RuntimeSpec.Process = {
    ...container,
    terminal: opts.terminal === true,
    args: [...opts.args],
    env: mergeEnv(container.env ?? [], [...(opts.terminal ? ["TERM=xterm"] : []), ...(opts.env ?? [])]),
    cwd,
  };
  if (opts.user) {
    proc.user = {
      uid: opts.user.uid,
      gid: opts.user.gid,
      ...(opts.user.additionalGids.length > 0 ? { additionalGids: [...opts.user.additionalGids] } : {}),
    };
  }
  if (opts.privileged && container.capabilities?.bounding) {
    const all = [...container.capabilities.bounding];
    proc.capabilities = { bounding: all, effective: all, permitted: all };
  }
  delete proc.consoleSize;
  return proc;
}
