import { type BigIntStats, lstatSync } from "node:fs";
import { lstat, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { DockerIgnore } from "@berth/dockerfile";

/**
 * contextPaths walks a build context and returns the paths (relative, `/`-separated) that docker's
 * CLI would send: everything not excluded by `.dockerignore`, plus the Dockerfile and
 * `.dockerignore` themselves (the daemon needs them even when they are ignored). Links are never
 * followed; a directory is only descended into when it may hold included files. With `stats`,
 * the lstat of every returned path is put there too (the incremental context's signatures).
 */
export async function contextPaths(
  root: string,
  dockerfile: string,
  stats?: Map<string, BigIntStats>,
): Promise<string[]> {
  let ignore: DockerIgnore | undefined;
  try {
    ignore = DockerIgnore.parse(await readFile(join(root, ".dockerignore"), "utf8"));
  } catch (err) {
    if ((err as { code?: string }).code !== "ENOENT") throw err;
  }
  const out: string[] = [];
  const walk = async (dir: string, relDir: string): Promise<void> => {
    const names = (await readdir(dir)).sort();
    // Synchronous lstats: microseconds each, where a thread-pool round trip per entry cost more.
    const sts = names.map((n) => lstatSync(`${dir}/${n}`, { bigint: true }));
    for (let i = 0; i < names.length; i++) {
      const abs = `${dir}/${names[i]}`;
      const rel = relDir === "" ? (names[i] as string) : `${relDir}/${names[i]}`;
      const st = sts[i] as BigIntStats;
      const excluded = ignore?.matches(rel) ?? false;
      if (st.isDirectory()) {
        if (excluded && !ignore?.mayContainIncluded(rel)) continue;
        const before = out.length;
        await walk(abs, rel);
        if (!excluded && out.length === before) {
          out.push(rel); // an empty directory is sent too
          stats?.set(rel, st);
        }
      } else if (!excluded) {
        out.push(rel);
        stats?.set(rel, st);
      }
    }
  };
  await walk(root, "");
  for (const always of [dockerfile, ".dockerignore"]) {
    if (!out.includes(always)) {
      try {
        // (Not `stats?.set(always, await lstat(...))`: without stats that skips the lstat.)
        const st = await lstat(join(root, always), { bigint: true });
        stats?.set(always, st);
        out.push(always);
      } catch {
        // not there: the daemon reports a missing Dockerfile
      }
    }
  }
  return out.sort();
}

/** contextTar is the build context as the tar stream `POST /build` takes. */
export async function contextTar(
  root: string,
  dockerfile: string,
): Promise<{ stream: Readable; count: number }> {
  const paths = await contextPaths(root, dockerfile);
  // Loaded on use: a no-change incremental build never makes a tar (CLI start-up time).
  const { createTar } = await import("@berth/archive");
  return { stream: createTar(root, { paths }), count: paths.length };
}
