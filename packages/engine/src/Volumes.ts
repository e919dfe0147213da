import { randomBytes } from "node:crypto";
import { lstat, mkdir, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { AlreadyExists, Conflict, errnoCode, InvalidArgument, NotFound } from "@berth/errdefs";
import { writeFileAtomic } from "@berth/image";
import { type Filters, matchLabels, validateFilterKeys } from "./filters.ts";
import { ensureDir } from "./fsutil.ts";
import { KeyedLock } from "./KeyedLock.ts";

/** ANONYMOUS_LABEL marks volumes the engine made for a container (docker's label since 23.0). */
export const ANONYMOUS_LABEL = "com.docker.volume.anonymous";

/** The only volume driver Berth has. */
export const LOCAL_DRIVER = "local";

const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** VolumeRecord is what the engine keeps about one volume (`volumes/<name>/volume.json`). */
export interface VolumeRecord {
  name: string;
  driver: string;
  /** RFC 3339, seconds precision, as docker prints `CreatedAt`. */
  createdAt: string;
  labels: Record<string, string> | null;
  options: Record<string, string> | null;
}

/** Options of {@link Volumes.create}: docker's `POST /volumes/create` body in lower case. */
export interface VolumeCreateOptions {
  /** Empty or unset: a random 64-hex name. */
  name?: string;
  /** Only `local` (the default). */
  driver?: string;
  labels?: Record<string, string> | null;
  /** The local driver's mount options are not supported: must be empty. */
  options?: Record<string, string> | null;
}

/** VolumeInspect is docker's volume object (`GET /volumes/{name}`). */
export interface VolumeInspect {
  CreatedAt: string;
  Driver: string;
  Labels: Record<string, string> | null;
  Mountpoint: string;
  Name: string;
  Options: Record<string, string> | null;
  Scope: "local";
}

/** PruneReport is docker's `POST /volumes/prune` answer. */
export interface VolumePruneReport {
  VolumesDeleted: string[];
  SpaceReclaimed: number;
}

/** Tells which containers (IDs) use a volume; wired by the engine. */
export type VolumeUsers = (name: string) => string[];

/**
 * isValidVolumeName tells whether a name is acceptable for the local driver
 * (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`). Such a name can never be a path: no `/`, never `.` or `..`.
 */
export function isValidVolumeName(name: string): boolean {
  return VALID_NAME.test(name);
}

/**
 * Volumes is the named-volume service with the `local` driver: each volume is a directory
 * `<root>/volumes/<name>/_data` plus its metadata `volume.json`, written atomically. A volume is in
 * use while a container record refers to it; in-use volumes cannot be removed or pruned.
 *
 * Lifecycle: `open` loads every volume on disk; `create` is idempotent for an existing name (docker
 * answers with the existing volume); `remove` deletes data and metadata.
 */
export class Volumes {
  readonly #dir: string;
  readonly #records = new Map<string, VolumeRecord>();
  readonly #lock = new KeyedLock();
  #users: VolumeUsers = () => [];
  #onEvent: (action: "create" | "destroy", name: string) => void = () => {};

  private constructor(dir: string) {
    this.#dir = dir;
  }

  /** open loads the volumes under `<root>/volumes`; a directory cut short by a crash is adopted. */
  static async open(root: string): Promise<Volumes> {
    const dir = join(root, "volumes");
    await ensureDir(dir, 0o701);
    const v = new Volumes(dir);
    for (const name of await readdir(dir)) {
      // Leftovers of a create or remove that a crash cut short.
      if (name.startsWith(".tmp-") || name.startsWith(".rm-")) {
        await rm(join(dir, name), { recursive: true, force: true });
        continue;
      }
      if (!isValidVolumeName(name)) continue;
      try {
        const rec = JSON.parse(await readFile(join(dir, name, "volume.json"), "utf8")) as VolumeRecord;
        if (rec.name === name) v.#records.set(name, rec);
      } catch (err) {
        if (errnoCode(err) !== "ENOENT" && !(err instanceof SyntaxError)) throw err;
        const st = await stat(join(dir, name)).catch(() => undefined);
        if (!st?.isDirectory()) continue;
        await mkdir(join(dir, name, "_data"), { recursive: true, mode: 0o755 });
        const rec: VolumeRecord = {
          name,
          driver: LOCAL_DRIVER,
          createdAt: rfc3339Seconds(st.mtime),
          labels: null,
          options: null,
        };
        await writeFileAtomic(join(dir, name, "volume.json"), JSON.stringify(rec));
        v.#records.set(name, rec);
      }
    }
    return v;
  }

  /** setUsers installs the lookup of containers using a volume (the engine wires the container service). */
  setUsers(users: VolumeUsers): void {
    this.#users = users;
  }

  /** onEvent installs the hook told of each volume created or destroyed (the engine's event bus). */
  onEvent(fn: (action: "create" | "destroy", name: string) => void): void {
    this.#onEvent = fn;
  }

  /** mountpoint is the host directory a volume's data lives in. */
  mountpoint(name: string): string {
    return join(this.#dir, name, "_data");
  }

  /**
   * create makes a volume (or returns the existing one of that name). An empty name gets a random
   * 64-hex name. Only the `local` driver without options is supported.
   */
  async create(opts: VolumeCreateOptions = {}): Promise<VolumeRecord> {
    const name = opts.name && opts.name !== "" ? opts.name : randomBytes(32).toString("hex");
    if (!isValidVolumeName(name)) {
      throw new InvalidArgument(
        `create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
      );
    }
    const driver = opts.driver && opts.driver !== "" ? opts.driver : LOCAL_DRIVER;
    if (driver !== LOCAL_DRIVER) {
      throw new NotFound(
        `create ${name}: error looking up volume plugin ${driver}: plugin "${driver}" not found`,
      );
    }
    const options = opts.options ?? {};
    const keys = Object.keys(options);
    if (keys.length > 0) {
      throw new InvalidArgument(
        `create ${name}: invalid option key: "${keys[0]}": the local driver of berth takes no options`,
      );
    }
    return this.#lock.run(name, async () => {
      const existing = this.#records.get(name);
      if (existing) return existing;
      const rec: VolumeRecord = {
        name,
        driver,
        createdAt: rfc3339Seconds(new Date()),
        labels: opts.labels && Object.keys(opts.labels).length > 0 ? { ...opts.labels } : null,
        options: null,
      };
      // Built under a temporary name and renamed into place, so a crash never leaves a half volume.
      const tmp = join(this.#dir, `.tmp-${randomBytes(6).toString("hex")}`);
      await mkdir(join(tmp, "_data"), { recursive: true, mode: 0o755 });
      await writeFileAtomic(join(tmp, "volume.json"), JSON.stringify(rec));
      try {
        await rename(tmp, join(this.#dir, name));
      } catch (err) {
        await rm(tmp, { recursive: true, force: true });
        if (errnoCode(err) === "ENOTEMPTY" || errnoCode(err) === "EEXIST")
          throw new AlreadyExists(`create ${name}: a directory of that name already exists`);
        throw err;
      }
      this.#records.set(name, rec);
      this.#onEvent("create", name);
      return rec;
    });
  }

  /** get returns a volume's record; NotFound with docker's message when there is none. */
  get(name: string): VolumeRecord {
    const rec = this.#records.get(name);
    if (!rec) throw new NotFound(`get ${name}: no such volume`);
    return rec;
  }

  /** has tells whether a volume exists. */
  has(name: string): boolean {
    return this.#records.has(name);
  }

  /** inspect renders a volume as docker's volume object. */
  inspect(name: string): VolumeInspect {
    return this.#view(this.get(name));
  }

  #view(rec: VolumeRecord): VolumeInspect {
    return {
      CreatedAt: rec.createdAt,
      Driver: rec.driver,
      Labels: rec.labels,
      Mountpoint: this.mountpoint(rec.name),
      Name: rec.name,
      Options: rec.options,
      Scope: "local",
    };
  }

  /**
   * list is docker's `GET /volumes`: filters `name` (substring or regular expression), `driver`,
   * `label` (`key` or `key=value`, all must match) and `dangling` (not used by any container).
   */
  list(filters: Filters = {}): VolumeInspect[] {
    validateFilterKeys(filters, ["name", "driver", "label", "dangling"]);
    const dangling = filters.dangling?.[0];
    if (dangling !== undefined && !["true", "false", "1", "0"].includes(dangling))
      throw new InvalidArgument(`invalid filter 'dangling=${dangling}'`);
    return [...this.#records.values()]
      .filter((r) => !filters.name || filters.name.some((n) => matchName(n, r.name)))
      .filter((r) => !filters.driver || filters.driver.includes(r.driver))
      .filter((r) => matchLabels(filters.label, r.labels))
      .filter(
        (r) =>
          dangling === undefined ||
          (this.#users(r.name).length === 0) === (dangling === "true" || dangling === "1"),
      )
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((r) => this.#view(r));
  }

  /**
   * remove deletes a volume and its data. In use: Conflict with docker's message (also with
   * `force`, which only tolerates a missing volume).
   */
  async remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    if (!this.#records.has(name)) {
      if (opts.force) return;
      this.get(name);
    }
    await this.#lock.run(name, async () => {
      if (!this.#records.has(name)) return;
      const users = this.#users(name);
      if (users.length > 0) throw new Conflict(`remove ${name}: volume is in use - [${users.join(", ")}]`);
      await this.#destroy(name);
    });
  }

  async #destroy(name: string): Promise<void> {
    // Renamed aside first: the volume vanishes at once, and a crash mid-delete leaves only a dot dir.
    const gone = join(this.#dir, `.rm-${name}-${randomBytes(4).toString("hex")}`);
    await rename(join(this.#dir, name), gone);
    this.#records.delete(name);
    this.#onEvent("destroy", name);
    await rm(gone, { recursive: true, force: true });
  }

  /**
   * prune removes unused volumes: anonymous ones only, unless the `all` filter is true (docker's
   * behaviour from API 1.42 on); `label` and `label!` filters narrow the selection.
   */
  async prune(filters: Filters = {}): Promise<VolumePruneReport> {
    validateFilterKeys(filters, ["label", "label!", "all"]);
    const all = filters.all?.[0];
    if (all !== undefined && !["true", "false", "1", "0"].includes(all))
      throw new InvalidArgument(`invalid filter 'all=${all}'`);
    const everything = all === "true" || all === "1";
    const report: VolumePruneReport = { VolumesDeleted: [], SpaceReclaimed: 0 };
    for (const rec of [...this.#records.values()]) {
      if (!everything && !Object.hasOwn(rec.labels ?? {}, ANONYMOUS_LABEL)) continue;
      if (!matchLabels(filters.label, rec.labels)) continue;
      if (filters["label!"]?.some((l) => matchLabels([l], rec.labels))) continue;
      await this.#lock.run(rec.name, async () => {
        if (!this.#records.has(rec.name) || this.#users(rec.name).length > 0) return;
        const size = await diskUsage(this.mountpoint(rec.name));
        await this.#destroy(rec.name);
        report.VolumesDeleted.push(rec.name);
        report.SpaceReclaimed += size;
      });
    }
    return report;
  }
}

function matchName(pattern: string, name: string): boolean {
  if (name.includes(pattern)) return true;
  try {
    return new RegExp(pattern).test(name);
  } catch {
    return false;
  }
}

/** rfc3339Seconds prints a time as docker prints a volume's `CreatedAt`. */
function rfc3339Seconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** diskUsage adds up the sizes of the files below a directory, never following links. */
async function diskUsage(path: string): Promise<number> {
  let total = 0;
  const st = await lstat(path).catch(() => undefined);
  if (!st) return 0;
  if (!st.isDirectory()) return st.isFile() ? st.size : 0;
  for (const child of await readdir(path)) total += await diskUsage(join(path, child));
  return total;
}
