import { posix } from "node:path";
import { InvalidArgument } from "@berth/errdefs";
import type { ContainerConfig, HostConfig } from "./types.ts";
import { isValidVolumeName } from "./Volumes.ts";

/**
 * MountRequest is one mount a create body asks for, parsed and validated but not yet resolved to
 * host paths: docker's `HostConfig.Binds`, `HostConfig.Mounts`, `HostConfig.Tmpfs` and the
 * `Config.Volumes` (the image's VOLUMEs and `-v /path`) that no other mount covers.
 */
export interface MountRequest {
  type: "bind" | "volume" | "tmpfs";
  /** Host path (bind), volume name (volume; empty = anonymous), "" (tmpfs). */
  source: string;
  /** Clean absolute container path. */
  destination: string;
  readOnly: boolean;
  /** Docker's `Mode` column: the bind's mode string (`z` by default for named volumes via Binds). */
  mode: string;
  /** Bind propagation (`rprivate` by default for binds, "" otherwise). */
  propagation: string;
  /** Copy the image's content at the destination into the volume when it is empty. */
  copyData: boolean;
  /** Labels for a volume this request creates (`VolumeOptions.Labels`). */
  labels?: Record<string, string>;
  /** tmpfs mount options (`size=`, `mode=`, flags). */
  tmpfsOptions?: string[];
  /** `HostConfig.Tmpfs` entries: mounted, but not listed in inspect's `Mounts` (as docker). */
  hidden?: boolean;
  /** A legacy `Binds` host path: docker creates it (0755) when missing; `Mounts` binds must exist. */
  createSource?: boolean;
}

const PROPAGATIONS = new Set(["private", "rprivate", "shared", "rshared", "slave", "rslave"]);
const BIND_MODES = new Set(["ro", "rw", "z", "Z", "nocopy", "consistent", "cached", "delegated"]);
const TMPFS_FLAGS = new Set([
  "ro",
  "rw",
  "exec",
  "noexec",
  "suid",
  "nosuid",
  "dev",
  "nodev",
  "atime",
  "noatime",
  "diratime",
  "nodiratime",
  "sync",
  "async",
]);
const TMPFS_KEYS = new Set(["size", "mode", "nr_inodes", "nr_blocks", "uid", "gid"]);

/**
 * cleanDestination returns a container path as a clean absolute path (threat row T4): relative
 * paths and `..` components are refused, never resolved; `/` itself cannot be a mount point.
 */
export function cleanDestination(dest: string, what: string): string {
  if (dest === "" || !dest.startsWith("/"))
    throw new InvalidArgument(
      `${what}: invalid mount destination ${JSON.stringify(dest)}: expected an absolute path`,
    );
  if (dest.split("/").includes(".."))
    throw new InvalidArgument(
      `${what}: invalid mount destination ${JSON.stringify(dest)}: '..' is not allowed`,
    );
  const clean = posix.normalize(dest).replace(/(.)\/$/, "$1");
  if (clean === "/") throw new InvalidArgument(`${what}: invalid specification: destination can't be '/'`);
  return clean;
}

/** cleanHostPath normalises an absolute host path without its trailing slash. */
function cleanHostPath(p: string): string {
  return posix.normalize(p).replace(/(.)\/$/, "$1");
}

/** parseBind reads one `HostConfig.Binds` entry: `name:/ctr[:mode]` or `/host:/ctr[:mode]`. */
export function parseBind(spec: string): MountRequest {
  const parts = spec.split(":");
  if (parts.length < 2 || parts.length > 3 || parts[0] === "" || parts[1] === "")
    throw new InvalidArgument(`invalid volume specification: '${spec}'`);
  const [source, target, modeText = ""] = parts as [string, string, string?];
  const what = `invalid volume specification: '${spec}'`;
  const destination = cleanDestination(target, what);
  const modes = modeText === "" ? [] : modeText.split(",");
  let readOnly = false;
  let propagation = "";
  let copyData = true;
  for (const m of modes) {
    if (PROPAGATIONS.has(m)) propagation = m;
    else if (!BIND_MODES.has(m)) throw new InvalidArgument(`invalid mode: ${modeText}`);
    if (m === "ro") readOnly = true;
    if (m === "nocopy") copyData = false;
  }
  if (source.startsWith("/")) {
    if (!copyData) throw new InvalidArgument(`invalid mode: ${modeText}`);
    return {
      type: "bind",
      source: cleanHostPath(source),
      destination,
      readOnly,
      mode: modeText,
      propagation: propagation || "rprivate",
      copyData: false,
      createSource: true,
    };
  }
  if (!isValidVolumeName(source)) {
    throw new InvalidArgument(
      `create ${source}: "${source}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
    );
  }
  if (propagation !== "") throw new InvalidArgument(`invalid mode: ${modeText}`);
  return {
    type: "volume",
    source,
    destination,
    readOnly,
    mode: modeText === "" ? "z" : modeText,
    propagation: "",
    copyData,
  };
}

/** Docker's `HostConfig.Mounts` element (the fields Berth reads). */
export interface ApiMount {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  BindOptions?: { Propagation?: string; CreateMountpoint?: boolean } | null;
  VolumeOptions?: {
    NoCopy?: boolean;
    Labels?: Record<string, string> | null;
    DriverConfig?: { Name?: string; Options?: Record<string, string> | null } | null;
    Subpath?: string;
  } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number; Options?: string[][] | null } | null;
}

/** parseApiMount reads one `HostConfig.Mounts` element with docker's error messages. */
export function parseApiMount(m: ApiMount): MountRequest {
  const type = m.Type ?? "";
  const bad = (msg: string) => new InvalidArgument(`invalid mount config for type "${type}": ${msg}`);
  if (type !== "bind" && type !== "volume" && type !== "tmpfs")
    throw new InvalidArgument(`invalid mount config: mount type unknown: "${type}"`);
  if (!m.Target) throw bad("field Target must not be empty");
  if (!m.Target.startsWith("/")) throw bad(`invalid mount path: '${m.Target}' mount path must be absolute`);
  const destination = cleanDestination(m.Target, `invalid mount config for type "${type}"`);
  const readOnly = m.ReadOnly === true;
  const source = m.Source ?? "";
  if (type === "bind") {
    if (source === "") throw bad("field Source must not be empty");
    if (!source.startsWith("/")) throw bad(`invalid mount path: '${source}' mount path must be absolute`);
    if (m.VolumeOptions) throw bad("field VolumeOptions must not be specified");
    if (m.TmpfsOptions) throw bad("field TmpfsOptions must not be specified");
    const propagation = m.BindOptions?.Propagation ?? "";
    if (propagation !== "" && !PROPAGATIONS.has(propagation))
      throw bad(`invalid propagation mode: ${propagation}`);
    return {
      type,
      source: cleanHostPath(source),
      destination,
      readOnly,
      mode: "",
      propagation: propagation || "rprivate",
      copyData: false,
    };
  }
  if (type === "volume") {
    if (m.BindOptions) throw bad("field BindOptions must not be specified");
    if (m.TmpfsOptions) throw bad("field TmpfsOptions must not be specified");
    if (source !== "" && !isValidVolumeName(source)) {
      throw new InvalidArgument(
        `create ${source}: "${source}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
      );
    }
    const driver = m.VolumeOptions?.DriverConfig?.Name ?? "";
    if (driver !== "" && driver !== "local")
      throw bad(`volume driver ${JSON.stringify(driver)} is not supported: only "local"`);
    if (m.VolumeOptions?.Subpath) throw bad("VolumeOptions.Subpath is not supported");
    const labels = m.VolumeOptions?.Labels ?? undefined;
    return {
      type,
      source,
      destination,
      readOnly,
      mode: "",
      propagation: "",
      copyData: m.VolumeOptions?.NoCopy !== true,
      ...(labels && Object.keys(labels).length > 0 ? { labels } : {}),
    };
  }
  if (source !== "") throw bad("field Source must not be specified");
  if (m.BindOptions) throw bad("field BindOptions must not be specified");
  if (m.VolumeOptions) throw bad("field VolumeOptions must not be specified");
  const opts: string[] = [];
  const size = m.TmpfsOptions?.SizeBytes;
  if (size !== undefined && size !== 0) {
    if (!Number.isInteger(size) || size < 0) throw bad(`invalid tmpfs size: ${size}`);
    opts.push(`size=${Math.ceil(size / 1024)}k`);
  }
  const mode = m.TmpfsOptions?.Mode;
  if (mode !== undefined && mode !== 0) {
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw bad(`invalid tmpfs mode: ${mode}`);
    opts.push(`mode=${mode.toString(8)}`);
  }
  for (const o of m.TmpfsOptions?.Options ?? []) opts.push(checkTmpfsOption(o.join("="), bad));
  return {
    type,
    source: "",
    destination,
    readOnly,
    mode: "",
    propagation: "",
    copyData: false,
    tmpfsOptions: opts,
  };
}

function checkTmpfsOption(o: string, bad: (msg: string) => Error): string {
  const eq = o.indexOf("=");
  const key = eq < 0 ? o : o.slice(0, eq);
  if (eq < 0 ? !TMPFS_FLAGS.has(key) : !TMPFS_KEYS.has(key) || !/^[0-9a-zA-Z]+$/.test(o.slice(eq + 1)))
    throw bad(`invalid tmpfs option ${JSON.stringify(o)}`);
  return o;
}

/** parseTmpfs reads one `HostConfig.Tmpfs` entry (`/run` -> `rw,size=64m`). */
export function parseTmpfs(target: string, options: string): MountRequest {
  const what = `invalid tmpfs specification: '${target}'`;
  const destination = cleanDestination(target, what);
  const bad = (msg: string) => new InvalidArgument(`${what}: ${msg}`);
  const opts = options === "" ? [] : options.split(",").map((o) => checkTmpfsOption(o.trim(), bad));
  return {
    type: "tmpfs",
    source: "",
    destination,
    readOnly: opts.includes("ro"),
    mode: "",
    propagation: "",
    copyData: false,
    tmpfsOptions: opts.filter((o) => o !== "ro" && o !== "rw"),
    hidden: true,
  };
}

/**
 * mountRequests collects every mount a container asks for, in docker's precedence: `Binds`, then
 * `Mounts`, then `Tmpfs`; then an anonymous volume for each `Config.Volumes` path nobody covers.
 * Two mounts on one destination are refused (`Duplicate mount point`).
 */
export function mountRequests(config: ContainerConfig, hc: HostConfig): MountRequest[] {
  const out: MountRequest[] = [];
  const seen = new Set<string>();
  const add = (r: MountRequest) => {
    if (seen.has(r.destination)) throw new InvalidArgument(`Duplicate mount point: ${r.destination}`);
    seen.add(r.destination);
    out.push(r);
  };
  const binds = hc.Binds;
  if (binds !== undefined && binds !== null) {
    if (!Array.isArray(binds)) throw new InvalidArgument("HostConfig.Binds: expected a list of strings");
    for (const b of binds) add(parseBind(String(b)));
  }
  const mounts = hc.Mounts;
  if (mounts !== undefined && mounts !== null) {
    if (!Array.isArray(mounts)) throw new InvalidArgument("HostConfig.Mounts: expected a list of mounts");
    for (const m of mounts as ApiMount[]) add(parseApiMount(m ?? {}));
  }
  const tmpfs = hc.Tmpfs;
  if (tmpfs !== undefined && tmpfs !== null) {
    if (typeof tmpfs !== "object" || Array.isArray(tmpfs))
      throw new InvalidArgument("HostConfig.Tmpfs: expected an object of paths to options");
    for (const [k, v] of Object.entries(tmpfs as Record<string, unknown>))
      add(parseTmpfs(k, String(v ?? "")));
  }
  for (const path of Object.keys(config.Volumes ?? {})) {
    // Image VOLUMEs are image data (threat row T5): validated like any destination.
    const destination = cleanDestination(path, `invalid volume ${JSON.stringify(path)}`);
    if (seen.has(destination)) continue;
    seen.add(destination);
    out.push({
      type: "volume",
      source: "",
      destination,
      readOnly: false,
      mode: "",
      propagation: "",
      copyData: true,
    });
  }
  return out;
}
