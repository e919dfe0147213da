import { createHash } from "node:crypto";
import type { BigIntStats } from "node:fs";
import { readFile, readlink, realpath } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { contextPaths } from "./buildContext.ts";

/** ContextListing is the filtered context as Berth's incremental context sends it. */
export interface ContextListing {
  /** Stable per host, context directory, Dockerfile and ignore rules: names berthd's kept copy. */
  readonly key: string;
  /** `[path, sig]` pairs, sorted; sig is `type:mode:uid:gid:size:mtimeNs:ctimeNs:ino:linkTarget`. */
  readonly entries: ReadonlyArray<readonly [string, string]>;
}

/**
 * contextListing lists the paths `berth build` would send (see contextPaths) with a signature
 * each: any change of content, mode, owner, inode or link target changes it. The ctime is in it
 * too, so a file rewritten with its size kept and its mtime put back (`touch -r`) is still sent
 * (BuildKit's file sync compares size and mtime and misses that case).
 */
export async function contextListing(root: string, dockerfile: string): Promise<ContextListing> {
  const real = await realpath(root);
  let ignoreText = "";
  try {
    ignoreText = await readFile(join(real, ".dockerignore"), "utf8");
  } catch (err) {
    if ((err as { code?: string }).code !== "ENOENT") throw err;
  }
  const stats = new Map<string, BigIntStats>();
  const paths = await contextPaths(real, dockerfile, stats);
  const entries = await Promise.all(
    paths.map(async (p): Promise<readonly [string, string]> => {
      const st = stats.get(p) as BigIntStats;
      const type = st.isFile() ? "f" : st.isDirectory() ? "d" : st.isSymbolicLink() ? "l" : "o";
      const link = st.isSymbolicLink() ? await readlink(join(real, p)) : "";
      return [
        p,
        `${type}:${st.mode}:${st.uid}:${st.gid}:${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}:${link}`,
      ];
    }),
  );
  const key = createHash("sha256")
    .update(`berth-context-v1\0${hostname()}\0${real}\0${dockerfile}\0${ignoreText}`)
    .digest("hex");
  return { key, entries };
}

/**
 * syncedContextBody is the body of `POST /build?berthcontext=KEY`: the listing as one JSON line,
 * then a tar of the `missing` paths only.
 */
export function syncedContextBody(
  root: string,
  listing: ContextListing,
  missing: readonly string[],
): Readable {
  const head = Buffer.from(`${JSON.stringify(listing.entries)}\n`);
  async function* body(): AsyncGenerator<Buffer> {
    yield head;
    if (missing.length === 0) {
      // Nothing to send: an empty tar (its end-of-archive blocks), without loading the tar code.
      yield Buffer.alloc(1024);
      return;
    }
    const { createTar } = await import("@berth/archive");
    yield* createTar(root, { paths: missing }) as AsyncIterable<Buffer>;
  }
  return Readable.from(body(), { objectMode: false });
}
