import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm, rmdir, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { buildSpec, Runtime, type SpecOptions } from "../src/index.ts";

/**
 * makeBusyboxRootfs builds a minimal root file system from the host's static
 * /bin/busybox: the binary plus one symlink per applet (`busybox --list`
 * includes `busybox` itself, which must not replace the binary), and small
 * /etc/passwd and /etc/group files.
 */
export async function makeBusyboxRootfs(dir: string): Promise<string> {
  const bin = join(dir, "bin");
  await mkdir(bin, { recursive: true });
  await copyFile("/bin/busybox", join(bin, "busybox"));
  const applets = execFileSync("/bin/busybox", ["--list"], { encoding: "utf8" }).split("\n");
  for (const a of applets) {
    if (a === "" || a === "busybox" || a.includes("/")) continue;
    await symlink("busybox", join(bin, a));
  }
  for (const d of ["etc", "tmp", "proc", "sys", "dev", "root"])
    await mkdir(join(dir, d), { recursive: true });
  await writeFile(
    join(dir, "etc/passwd"),
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n",
  );
  await writeFile(join(dir, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
  return dir;
}

/** A runc container sandbox for one describe block; see {@link useRuntimeSandbox}. */
export interface RuntimeSandbox {
  /** The temp dir holding the rootfs, bundles and runtime state (valid from beforeAll). */
  readonly tmp: string;
  /** A busybox root file system shared by the block's containers. */
  readonly rootfs: string;
  readonly rt: Runtime;
  /** The cgroup parent every container of the block lives under (removed afterwards). */
  readonly cgroupParent: string;
  /** A name made unique per run: `${name}-<random>`. */
  idFor(name: string): string;
  /** Marks a container (created outside {@link create}) for removal after the block. */
  track(id: string): void;
  /**
   * create makes a bundle for `name` and `runc create`s it with busybox `args` (the spec built
   * by buildSpec with `spec` merged in).
   */
  create(
    name: string,
    args: string[],
    spec?: Partial<SpecOptions>,
    opts?: { terminal?: boolean; stdin?: boolean },
  ): Promise<{ id: string; bundle: string; logPath: string } & Awaited<ReturnType<Runtime["create"]>>>;
}

/**
 * useRuntimeSandbox registers beforeAll/afterAll hooks that make a temp dir, a busybox rootfs and
 * a {@link Runtime} over private state and runc roots, and afterwards force-delete every container
 * created or tracked, remove the cgroup parent in every controller and the temp dir.
 */
export function useRuntimeSandbox(prefix: string): RuntimeSandbox {
  let tmp = "";
  let rootfs = "";
  let rt: Runtime | undefined;
  const cgroupParent = `/berth-${prefix}-test-${process.pid}`;
  const ids: string[] = [];
  const uid = Math.random().toString(36).slice(2, 8);
  const runtime = () => {
    if (rt === undefined) throw new Error("useRuntimeSandbox: used before beforeAll ran");
    return rt;
  };
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), `berth-${prefix}-`));
    rootfs = await makeBusyboxRootfs(join(tmp, "rootfs"));
    rt = new Runtime({
      stateRoot: join(tmp, "state"),
      runcRoot: join(tmp, "runc"),
      logger: { warn: () => {} },
    });
  });
  afterAll(async () => {
    for (const id of ids) {
      await rt?.delete(id, { force: true }).catch(() => {});
      await rt?.cleanup(id).catch(() => {});
    }
    for (const ctrl of readdirSync("/sys/fs/cgroup")) {
      for (const id of ids) await rmdir(join("/sys/fs/cgroup", ctrl, cgroupParent, id)).catch(() => {});
      await rmdir(join("/sys/fs/cgroup", ctrl, cgroupParent)).catch(() => {});
    }
    if (tmp !== "") await rm(tmp, { recursive: true, force: true });
  });
  return {
    get tmp() {
      return tmp;
    },
    get rootfs() {
      return rootfs;
    },
    get rt() {
      return runtime();
    },
    cgroupParent,
    idFor: (name) => `${name}-${uid}`,
    track: (id) => {
      ids.push(id);
    },
    async create(name, args, spec = {}, opts = {}) {
      const id = `${name}-${uid}`;
      const bundle = join(tmp, "b", id);
      await mkdir(bundle, { recursive: true });
      const logPath = join(bundle, "ctr.log");
      const s = buildSpec({ rootfs, args, hostname: name, cgroupsPath: `${cgroupParent}/${id}`, ...spec });
      ids.push(id);
      const r = await runtime().create(id, { bundle, spec: s, logPath, ...opts });
      return { id, logPath, bundle, ...r };
    },
  };
}
