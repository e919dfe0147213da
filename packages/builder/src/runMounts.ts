import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chown, lstat, mkdir, readdir, rm, rmdir, writeFile } from "node:fs/promises";
import { join, posix } from "node:path";
import { promisify } from "node:util";
import { resolveInRoot } from "@berth/archive";
import type { Mount } from "@berth/dockerfile";
import { errnoCode, InvalidArgument, NotFound, NotImplemented, ResourceExhausted } from "@berth/errdefs";
import type { RuntimeSpec } from "@berth/oci";
import { CacheMounts } from "./CacheMounts.ts";
import type { BuildDeps, ImageState } from "./types.ts";

const exec = promisify(execFile);

/** What {@link prepareRunMounts} needs from the step. */
export interface RunMountEnv {
  readonly deps: BuildDeps;
  /** The RUN's working directory (relative targets are taken from it). */
  readonly cwd: string;
  /** The build context directory (bind mounts without `from`). */
  readonly contextRoot: string;
  /** The image state of a stage name or index, or of a local image (`from=`). */
  readonly resolveFrom: (from: string) => Promise<ImageState>;
  /** Secrets of the build request, by id. */
  readonly secrets: ReadonlyMap<string, Uint8Array>;
  /** Scratch directory of this step (secret files, read-write bind copies); removed by the caller. */
  readonly scratch: string;
}

/** PreparedMounts are a RUN's extra mounts and environment, and what undoes them. */
export interface PreparedMounts {
  readonly mounts: RuntimeSpec.Mount[];
  /** `NAME=value` from secrets with `env=`. */
  readonly env: string[];
  /** Absolute targets in the container (their stubs must not reach the layer). */
  readonly targets: string[];
  release(): Promise<void>;
}

/** SECRET_MAX_BYTES bounds one build secret (BuildKit's limit is 500 KiB). */
export const SECRET_MAX_BYTES = 500 * 1024;

/** mountTarget is a mount's absolute target: relative ones are taken from the working directory. */
export function mountTarget(m: Mount, cwd: string): string {
  const t = m.target ?? "";
  return posix.normalize(posix.isAbsolute(t) ? t : posix.join(cwd || "/", t));
}

/**
 * secretIdOf is BuildKit's secret id: `source` if given, else `id`, else the target's base name;
 * the default target is `/run/secrets/<id>` unless the secret goes to an environment variable.
 */
export function secretIdOf(m: Mount): { id: string; target?: string } {
  let id = m.source || m.id || "";
  if (id === "") {
    if (!m.target) throw new InvalidArgument("invalid secret mount: one of source, target required");
    id = posix.basename(m.target);
  }
  const target = m.target || (m.env === undefined ? `/run/secrets/${posix.basename(id)}` : undefined);
  return target === undefined ? { id } : { id, target };
}

/**
 * prepareRunMounts makes the mounts of `RUN --mount` as BuildKit does:
 * - `cache`: a persistent directory per id (default: the target) from {@link CacheMounts},
 *   with `sharing`, `uid`/`gid`/`mode` for a new directory, `from` (+`source`) to seed it;
 * - `bind`: `source` from the context, or from a stage or image (`from=`), read-only unless
 *   `rw`, and then a throw-away copy (changes are discarded);
 * - `tmpfs`: an empty tmpfs (`size`);
 * - `secret`: the build request's secret as a read-only file (`mode` default 0400, `uid`,
 *   `gid`) or an environment variable (`env=`); a missing secret fails only with `required`;
 * - `ssh`: not supported (NotImplemented).
 * Nothing is mounted in the image's file system itself: runc mounts them in the container, and
 * the caller removes the mount-point stubs before the layer is committed.
 */
export async function prepareRunMounts(list: readonly Mount[], env: RunMountEnv): Promise<PreparedMounts> {
  const mounts: RuntimeSpec.Mount[] = [];
  const envOut: string[] = [];
  const targets: string[] = [];
  const undo: Array<() => Promise<unknown>> = [];
  let secretDir: string | undefined;
  const release = async () => {
    for (const u of undo.reverse()) await u().catch(() => {});
  };
  try {
    for (const [i, m] of list.entries()) {
      if (m.type === "ssh")
        throw new NotImplemented("RUN --mount=type=ssh is not supported: Berth has no SSH agent forwarding");
      if (m.type === "secret") {
        const { id, target } = secretIdOf(m);
        const value = env.secrets.get(id);
        if (value === undefined) {
          if (m.required === true)
            throw new NotFound(`secret ${id}: not found`, { code: "ERR_BUILD_SECRET" });
          continue;
        }
        if (value.length > SECRET_MAX_BYTES)
          throw new ResourceExhausted(
            `secret ${id} is ${value.length} bytes, over the limit of ${SECRET_MAX_BYTES}`,
          );
        if (m.env !== undefined) envOut.push(`${m.env}=${Buffer.from(value).toString("utf8")}`);
        if (target === undefined) continue;
        // Secrets live on a tmpfs of their own, never on disk (threat row D10).
        if (secretDir === undefined) {
          const dir = join(env.scratch, "secrets");
          await mkdir(dir, { mode: 0o700 });
          await exec("mount", ["-t", "tmpfs", "-o", "size=4m,mode=0700,nosuid,nodev,noexec", "tmpfs", dir]);
          undo.push(() => exec("umount", ["-l", dir]));
          secretDir = dir;
        }
        const file = join(secretDir, `secret-${i}`);
        await writeFile(file, value, { mode: m.mode ?? 0o400 });
        await chown(file, m.uid ?? 0, m.gid ?? 0);
        const t = mountTarget({ ...m, target }, env.cwd);
        targets.push(t);
        mounts.push({
          destination: t,
          type: "bind",
          source: file,
          options: ["bind", "ro", "nosuid", "nodev", "noexec"],
        });
        continue;
      }
      if (!m.target) throw new InvalidArgument(`invalid mount: expected a target for type=${m.type}`);
      const target = mountTarget(m, env.cwd);
      if (target === "/") throw new InvalidArgument(`invalid mount target "/" for type=${m.type}`);
      targets.push(target);
      if (m.type === "tmpfs") {
        mounts.push({
          destination: target,
          type: "tmpfs",
          source: "tmpfs",
          options: ["nosuid", "nodev", "mode=1777", ...(m.sizeLimit ? [`size=${m.sizeLimit}`] : [])],
        });
        continue;
      }
      const fromRoot = async (from: string): Promise<string> => {
        const state = await env.resolveFrom(from);
        const id = `berth-build-${randomBytes(6).toString("hex")}`;
        await env.deps.snapshots.createContainerLayer(id, { layers: state.layers });
        undo.push(() => env.deps.snapshots.removeContainerLayer(id));
        return env.deps.snapshots.mountContainer(id);
      };
      if (m.type === "cache") {
        const seedFrom = m.from;
        const lease = await CacheMounts.forRoot(env.deps.root).acquire({
          id: m.id || target,
          sharing: m.sharing ?? "shared",
          ...(m.uid === undefined ? {} : { uid: m.uid }),
          ...(m.gid === undefined ? {} : { gid: m.gid }),
          ...(m.mode === undefined ? {} : { mode: m.mode }),
          ...(seedFrom === undefined || seedFrom === ""
            ? {}
            : {
                seed: async (dir: string) => {
                  const root = await fromRoot(seedFrom);
                  const src = await resolveInRoot(root, m.source || "/");
                  await exec("cp", ["-a", "--", `${src}/.`, dir]);
                },
              }),
        });
        undo.push(() => lease.release());
        let dir = lease.dir;
        if (m.source && (m.from === undefined || m.from === "")) {
          dir = await resolveInRoot(lease.dir, m.source);
          await mkdir(dir, { recursive: true });
        }
        mounts.push({
          destination: target,
          type: "bind",
          source: dir,
          options: ["rbind", m.readOnly ? "ro" : "rw"],
        });
        continue;
      }
      // bind
      const root = m.from === undefined || m.from === "" ? env.contextRoot : await fromRoot(m.from);
      let src = await resolveInRoot(root, m.source || "/");
      try {
        await lstat(src);
      } catch (err) {
        if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR")
          throw new NotFound(`failed to compute cache key: "${posix.join("/", m.source || "/")}" not found`);
        throw err;
      }
      if (!m.readOnly && root === env.contextRoot) {
        // rw on the context: the RUN writes to a copy, so the context (and the cache key) stay as they were.
        const copy = join(env.scratch, `bind-${i}`);
        await exec("cp", ["-a", "--", src, copy]);
        src = copy;
      }
      mounts.push({
        destination: target,
        type: "bind",
        source: src,
        options: ["rbind", m.readOnly ? "ro" : "rw"],
      });
    }
    return { mounts, env: envOut, targets, release };
  } catch (err) {
    await release();
    throw err;
  }
}

/**
 * missingPaths lists the absolute paths from the topmost missing component of `target` down to
 * `target` itself: what runc will create as mount points in the root file system ([] if the target
 * exists).
 */
export async function missingPaths(rootfs: string, target: string): Promise<string[]> {
  const parts = target.split("/").filter(Boolean);
  const out: string[] = [];
  for (let k = 1; k <= parts.length; k++) {
    const p = `/${parts.slice(0, k).join("/")}`;
    if (out.length > 0) {
      out.push(p);
      continue;
    }
    try {
      await lstat(await resolveInRoot(rootfs, p));
    } catch (err) {
      if (errnoCode(err) !== "ENOENT" && errnoCode(err) !== "ENOTDIR") throw err;
      out.push(p);
    }
  }
  return out;
}

/**
 * removeStubs removes mount points runc created (`missingPaths` taken before the RUN), deepest
 * first, as long as they are still empty directories or empty files: the RUN's own files stay.
 */
export async function removeStubs(rootfs: string, stubs: readonly string[]): Promise<void> {
  const sorted = [...new Set(stubs)].sort((a, b) => b.split("/").length - a.split("/").length);
  for (const p of sorted) {
    // The parent is resolved inside the root; the stub itself is never followed (CVE-2024-23652:
    // a RUN may leave a symlink where the stub was, and only a real empty stub is removed).
    const parent = await resolveInRoot(rootfs, posix.dirname(p));
    const abs = `${parent === "/" ? "" : parent}/${posix.basename(p)}`;
    try {
      const st = await lstat(abs);
      if (st.isDirectory()) {
        if ((await readdir(abs)).length === 0) await rmdir(abs);
      } else if (st.isFile() && st.size === 0) await rm(abs);
    } catch (err) {
      if (errnoCode(err) !== "ENOENT" && errnoCode(err) !== "ENOTDIR") throw err;
    }
  }
}
