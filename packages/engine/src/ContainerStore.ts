import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { errnoCode } from "@berth/errdefs";
import { writeFileAtomic } from "@berth/image";
import { ensureDir } from "./fsutil.ts";
import type { ContainerRecord } from "./types.ts";

/**
 * ContainerStore persists container records under `<root>/containers/<id>/container.json`, one
 * atomic write per change, and keeps them in memory. It knows nothing of runtime state: the engine
 * decides what a record says.
 */
export class ContainerStore {
  readonly #dir: string;
  readonly #records = new Map<string, ContainerRecord>();

  private constructor(dir: string) {
    this.#dir = dir;
  }

  /** open loads every readable record; a directory without a valid record (a create cut short) is removed. */
  static async open(root: string): Promise<ContainerStore> {
    const dir = join(root, "containers");
    await ensureDir(dir);
    const store = new ContainerStore(dir);
    for (const id of await readdir(dir)) {
      // The directory is shared with the snapshotter, which keeps other layers here (builds).
      if (!/^[0-9a-f]{64}$/.test(id)) continue;
      try {
        const rec = JSON.parse(await readFile(join(dir, id, "container.json"), "utf8")) as ContainerRecord;
        if (rec.id === id) store.#records.set(id, rec);
      } catch (err) {
        if (errnoCode(err) === "ENOENT" || err instanceof SyntaxError) {
          await rm(join(dir, id), { recursive: true, force: true });
        } else {
          throw err;
        }
      }
    }
    return store;
  }

  /** dirOf is the directory holding a container's record, logs and generated /etc files. */
  dirOf(id: string): string {
    return join(this.#dir, id);
  }

  all(): ContainerRecord[] {
    return [...this.#records.values()];
  }

  get(id: string): ContainerRecord | undefined {
    return this.#records.get(id);
  }

  /** save writes the record durably, then publishes it in memory. */
  async save(rec: ContainerRecord): Promise<void> {
    await ensureDir(this.dirOf(rec.id));
    await writeFileAtomic(join(this.dirOf(rec.id), "container.json"), JSON.stringify(rec));
    this.#records.set(rec.id, rec);
  }

  /** delete forgets the record and removes its directory. */
  async delete(id: string): Promise<void> {
    this.#records.delete(id);
    await rm(this.dirOf(id), { recursive: true, force: true });
  }
}
