import { type Stats, statSync } from "node:fs";
import { lstat } from "node:fs/promises";
import { posix } from "node:path";
import type { Readable } from "node:stream";
import { applyLayer, createTar, resolveInRoot } from "@berth/archive";
import { errnoCode, InvalidArgument, NotFound } from "@berth/errdefs";

/**
 * Where `cp` reads and writes a container's files. Every path is resolved with @berth/archive's
 * root-confined walk, as if the container's root (or a mount's source) were `/`: a symlink in the
 * container such as `/escape -> /` or `/x -> /etc` leads to the container's `/` or `/etc`, never
 * to the host's (CVE-2018-15664 class). The caller pauses a running container around these calls
 * so it cannot swap a path component for a symlink between resolving and using it.
 */

/** PathStat is docker's `X-Docker-Container-Path-Stat` (base64 JSON) of a container path. */
export interface PathStat {
  name: string;
  size: number;
  /** Go's os.FileMode bits (type bits high, permissions low). */
  mode: number;
  mtime: string;
  /** For a symlink, the container path it resolves to; "" otherwise. */
  linkTarget: string;
}

/** A file system that backs part of a container's tree: the root file system or one mount. */
export interface PathRoot {
  /** Container path where it appears (`/` for the root file system). */
  destination: string;
  /** Host path of its content. */
  source: string;
}

/** A container path located on the host: the confined root it is in and the resolved host path. */
export interface LocatedPath {
  /** The lexically cleaned absolute container path (`/etc/hostname`). */
  abs: string;
  /** The host directory that plays `/` for this path (rootfs or a mount's source). */
  root: string;
  /** The resolved host path (inside `root`). */
  full: string;
  /** The name archive entries start with (docker's rebase name): the last element, or `.`. */
  rebaseName: string;
  /** Whether `full` is the root of `root`. */
  isRoot: boolean;
}

const S_IFMT = 0o170000;

/** goFileMode converts a POSIX st_mode into Go's os.FileMode, as docker's path stat reports it. */
export function goFileMode(mode: number): number {
  let m = mode & 0o777;
  if (mode & 0o4000) m += 2 ** 23;
  if (mode & 0o2000) m += 2 ** 22;
  if (mode & 0o1000) m += 2 ** 20;
  switch (mode & S_IFMT) {
    case 0o040000:
      m += 2 ** 31;
      break;
    case 0o120000:
      m += 2 ** 27;
      break;
    case 0o010000:
      m += 2 ** 25;
      break;
    case 0o140000:
      m += 2 ** 24;
      break;
    case 0o060000:
      m += 2 ** 26;
      break;
    case 0o020000:
      m += 2 ** 26 + 2 ** 21;
      break;
  }
  return m;
}

/**
 * locatePath finds where a container path lives. The path is cleaned lexically (docker joins it
 * onto `/`); the mount with the longest destination that contains it wins (volumes, binds and the
 * generated /etc files), else the root file system. A trailing `/` or `/.` (or `followLast`, as
 * dockerd's extraction point) asks to follow the last element; otherwise a final symlink is the
 * link itself.
 */
export async function locatePath(
  roots: readonly PathRoot[],
  path: string,
  opts: { followLast?: boolean } = {},
): Promise<LocatedPath> {
  if (path === "") throw new InvalidArgument("path cannot be empty");
  const trailingDot = path === "." || path.endsWith("/.");
  const followLast = opts.followLast === true || trailingDot || path.endsWith("/");
  const abs = posix.normalize(posix.join("/", path)).replace(/(.)\/+$/, "$1");
  let best: PathRoot | undefined;
  for (const r of roots) {
    const d = r.destination;
    if (abs === d || d === "/" || abs.startsWith(`${d}/`)) {
      if (!best || d.length > best.destination.length) best = r;
    }
  }
  if (!best) throw new NotFound(`no file system holds ${abs}`);
  const rel = best.destination === "/" ? abs : abs.slice(best.destination.length) || "/";
  const rebaseName = trailingDot ? "." : posix.basename(abs) || "/";
  if (isFile(best.source)) {
    // A bind-mounted file (/etc/hostname): only the path itself is in it.
    if (rel !== "/") throw new NotFound(`${abs} is below a file`);
    return { abs, root: posix.dirname(best.source), full: best.source, rebaseName, isRoot: false };
  }
  const root = best.source;
  let full: string;
  if (rel === "/" || followLast) full = await resolveInRoot(root, rel);
  else full = posix.join(await resolveInRoot(root, posix.dirname(rel)), posix.basename(rel));
  return { abs, root, full, rebaseName, isRoot: full === posix.resolve(root) };
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** statPath is docker's path stat of a located path; ENOENT propagates to the caller. */
export async function statPath(loc: LocatedPath): Promise<PathStat> {
  const st: Stats = await lstat(loc.full);
  let linkTarget = "";
  if (st.isSymbolicLink()) {
    const target = await resolveInRoot(loc.root, posix.relative(loc.root, loc.full));
    const inRoot = posix.relative(posix.resolve(loc.root), target);
    linkTarget = posix.join("/", inRoot);
  }
  return {
    name: loc.rebaseName,
    size: st.size,
    mode: goFileMode(st.mode),
    mtime: goTime(st.mtime),
    linkTarget,
  };
}

/** goTime formats a date as Go's RFC3339Nano (trailing zeros of the fraction dropped). */
function goTime(d: Date): string {
  return d.toISOString().replace(/\.(\d+)Z$/, (_, f: string) => {
    const t = f.replace(/0+$/, "");
    return t === "" ? "Z" : `.${t}Z`;
  });
}

/** encodePathStat is the header value: base64 of the stat's JSON. */
export function encodePathStat(stat: PathStat): string {
  return Buffer.from(JSON.stringify(stat)).toString("base64");
}

/**
 * archivePath tars a located path with docker's entry names: the last element is renamed to the
 * rebase name (`/etc/.` gives `./...`, `/x/` with `x -> /etc` gives `x/...`). Links inside are
 * archived as links, never followed.
 */
export function archivePath(loc: LocatedPath): Readable {
  if (loc.isRoot) {
    return createTar(loc.full, { rename: (n) => `./${n}` });
  }
  const base = posix.basename(loc.full);
  return createTar(posix.dirname(loc.full), {
    paths: [`/${base}`],
    rename: (n) => (n === base ? loc.rebaseName : `${loc.rebaseName}/${n.slice(base.length + 1)}`),
  });
}

/**
 * extractToPath unpacks a tar into a located directory with @berth/archive's root-confined
 * extraction (names, `..` and links in the tar cannot leave the directory). dockerd answers
 * `extraction point is not a directory` when the path is not one; with `noOverwriteDirNonDir`
 * (the docker CLI's default) a directory is never replaced by a file nor a file by a directory.
 */
export async function extractToPath(
  loc: LocatedPath,
  input: Readable,
  opts: { noOverwriteDirNonDir?: boolean; chown?: { uid: number; gid: number } } = {},
): Promise<void> {
  const st = await lstat(loc.full);
  if (!st.isDirectory()) throw new InvalidArgument("extraction point is not a directory");
  await applyLayer(loc.full, input, {
    whiteouts: "none",
    noOverwriteDirNonDir: opts.noOverwriteDirNonDir === true,
    ...(opts.chown ? { chown: opts.chown } : {}),
  });
}

/** isNotExist tells whether an error means a path is missing. */
export function isNotExist(err: unknown): boolean {
  const code = errnoCode(err);
  return code === "ENOENT" || code === "ENOTDIR";
}
