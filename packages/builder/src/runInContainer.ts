import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { Canceled, FailedPrecondition } from "@berth/errdefs";
import type { RuntimeSpec } from "@berth/oci";
import { buildSpec, type Runtime, resolveUser } from "@berth/runtime";

/** RunRequest is one RUN: the process and where it runs. */
export interface RunRequest {
  /** Container id in the runtime (also the snapshot id). */
  readonly id: string;
  /** The mounted root file system (an overlay over the current image). */
  readonly rootfs: string;
  /** Bundle directory to create (removed afterwards). */
  readonly bundle: string;
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly cwd: string;
  /** USER as written in the Dockerfile (`name`, `uid:gid`); resolved in the rootfs's /etc/passwd. */
  readonly user: string;
  readonly cgroupParent: string;
  /**
   * Network namespace: `"none"` (default: a new one with only `lo`), `"host"` (the host's), or the
   * path of a prepared namespace to join (a build sandbox on the default bridge).
   */
  readonly network?: "none" | "host" | (string & {});
  /** Extra mounts (RUN --mount, /etc/resolv.conf, /etc/hosts, heredoc scripts). */
  readonly mounts?: readonly RuntimeSpec.Mount[];
  readonly onOutput: (fd: "stdout" | "stderr", data: Buffer) => void;
  readonly signal?: AbortSignal;
}

/**
 * runInContainer runs one RUN with runc under conmon through {@link Runtime}: the same path as a
 * container run (docker's default capabilities, seccomp, masked paths), in the network namespace
 * `network` names (default: an empty one, only `lo`) with hostname `buildkitsandbox`.
 * Output is read from conmon's attach socket, attached before start so nothing is lost. The
 * runtime state and bundle are always removed; the exit code is returned, and a non-zero code is
 * the caller's to report.
 *
 * Why conmon rather than a plain `runc run`: Runtime already does fd hygiene (T3), the runc
 * version gate, exit-code recording and stdio demultiplexing, and is tested against real runc;
 * a second, child-process-based runc driver here would duplicate that and drift.
 */
export async function runInContainer(rt: Runtime, req: RunRequest): Promise<number> {
  if (req.signal?.aborted) throw new Canceled("build canceled");
  await mkdir(req.bundle, { recursive: true, mode: 0o700 });
  const user = await resolveUser(req.rootfs, req.user);
  const spec = buildSpec({
    rootfs: req.rootfs,
    args: req.args,
    env: req.env,
    cwd: req.cwd || "/",
    user,
    hostname: "buildkitsandbox",
    namespaces: { network: req.network ?? "none" },
    ...(req.mounts === undefined ? {} : { mounts: req.mounts }),
    cgroupsPath: `${req.cgroupParent}/${req.id}`,
  });
  let created = false;
  const onAbort = () => {
    if (created) void rt.kill(req.id, "SIGKILL", true).catch(() => {});
  };
  req.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await rt.create(req.id, { bundle: req.bundle, spec, logPath: join(req.bundle, "run.log") });
    created = true;
    const att = await rt.attach(req.id);
    att.stdout.on("data", (b: Buffer) => req.onOutput("stdout", b));
    att.stderr.on("data", (b: Buffer) => req.onOutput("stderr", b));
    att.closeStdin();
    await rt.start(req.id);
    const status = await rt.waitExit(req.id);
    // conmon closes the attach socket when the process is gone; give the last output a moment.
    await Promise.race([att.closed, new Promise((r) => setTimeout(r, 2000))]);
    att.close();
    if (req.signal?.aborted) throw new Canceled("build canceled");
    return status.exitCode;
  } catch (err) {
    if (err instanceof Canceled) throw err;
    if (req.signal?.aborted) throw new Canceled("build canceled", { cause: err });
    throw new FailedPrecondition(`running ${JSON.stringify(req.args.join(" "))}: ${(err as Error).message}`, {
      cause: err,
      code: "ERR_BUILD_RUN",
    });
  } finally {
    req.signal?.removeEventListener("abort", onAbort);
    if (created) await rt.delete(req.id, { force: true }).catch(() => {});
    await rt.cleanup(req.id).catch(() => {});
    await rm(req.bundle, { recursive: true, force: true });
  }
}
