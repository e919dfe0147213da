import { lstatSync, type Stats } from "node:fs";
import { realpath } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { applyLayer } from "@berth/archive";
import type { FileDigests } from "./FileDigests.ts";

/**
 * extractContext writes a build context tar (or the part of one a synced context was missing)
 * into `dir` as plain files owned by root (no whiteouts, the archive's owners dropped), and
 * remembers in `digests` the content digest of every regular file it wrote, hashed while it was
 * written: COPY/ADD source hashing then reads none of them again (a cold build's 50 MB file was
 * a second full read). Each digest is remembered under the file's stat once everything is
 * written, so a file the tar replaced later in the stream keeps no stale digest.
 */
export async function extractContext(
  dir: string,
  tar: Readable,
  digests: FileDigests,
  signal?: AbortSignal,
): Promise<void> {
  const real = await realpath(dir);
  const written: Array<[string, string]> = [];
  await applyLayer(dir, tar, {
    whiteouts: "none",
    sameOwner: false,
    onFileDigest: (path, digest) => {
      if (path.startsWith(`${real}/`)) written.push([path.slice(real.length + 1), digest]);
    },
    ...(signal === undefined ? {} : { signal }),
  });
  const last = new Map(written);
  for (const [rel, digest] of last) {
    const abs = join(dir, rel);
    const st = lstatFileSync(abs);
    if (st !== undefined) digests.set(abs, st, digest);
  }
}

/** lstatFileSync is the lstat of `abs` if it is a regular file, else undefined (gone or replaced). */
function lstatFileSync(abs: string): Stats | undefined {
  try {
    const st = lstatSync(abs);
    return st.isFile() ? st : undefined;
  } catch {
    return undefined;
  }
}
