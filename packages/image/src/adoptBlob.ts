import { chmod, open, rename, unlink } from "node:fs/promises";
import type { Readable } from "node:stream";
import { errnoCode } from "@berth/errdefs";
import type { Digest } from "@berth/oci";
import { fsyncDir } from "./atomicWrite.ts";
import type { BlobInfo, ContentStore } from "./ContentStore.ts";

/**
 * adoptBlob moves a file whose digest and size the caller has already verified (a load's
 * unpacked archive member, hashed as it was written into a private directory) into the content
 * store by rename, as `ContentStore.ingest` commits: read-only, fsynced, renamed into
 * `blobs/`, directory fsynced. It saves copying and re-hashing large layers. When the file is on
 * another file system (EXDEV) it falls back to `ingest`, which verifies digest and size again.
 * An existing blob wins; the file is then removed.
 */
export async function adoptBlob(
  content: ContentStore,
  path: string,
  blob: { digest: Digest; size: number },
  fallback: () => Readable,
): Promise<BlobInfo> {
  const target = content.blobPath(blob.digest);
  if (await content.has(blob.digest)) {
    await unlink(path).catch(() => {});
    return blob;
  }
  const fh = await open(path, "r");
  try {
    const st = await fh.stat();
    if (st.size !== blob.size) {
      return content.ingest(fallback(), { expected: blob.digest, size: blob.size, ifExists: "ok" });
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(path, 0o444);
  try {
    await rename(path, target);
  } catch (err) {
    if (errnoCode(err) !== "EXDEV") throw err;
    return content.ingest(fallback(), { expected: blob.digest, size: blob.size, ifExists: "ok" });
  }
  await fsyncDir(content.blobsDir);
  return blob;
}
