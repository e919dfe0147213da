import { lstat, readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { Readable } from "node:stream";
import { createTar } from "@berth/archive";
import { DockerIgnore } from "@berth/dockerfile";

/**
 * contextPaths walks a build context and returns the paths (relative, `/`-separated) that docker's
 * CLI would send: everything not excluded by `.dockerignore`, plus the Dockerfile and
 * `.dockerignore` themselves (the daemon needs them even when they are ignored). Links are never
 * followed; a directory is only descended into when it may hold included files.
 */
export async function contextPaths(root: string, dockerfile: string): Promise<string[]> {
  let ignore: DockerIgnore | undefined;
  try {
    ignore = DockerIgnore.parse(await readFile(join(root, ".dockerignore"), "utf8"));
  } catch (err) {
    if ((err as { code?: string }).code !== "ENOENT") throw err;
  }
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const abs = join(dir, name);
      const rel = relative(root, abs).split("\\").join("/");
      const st = await lstat(abs);
      const excluded = ignore?.matches(rel) ?? false;
      if (st.isDirectory()) {
        if (excluded && !ignore?.mayContainIncluded(rel)) continue;
        const before = out.length;
        await walk(abs);
        if (!excluded && out.length === before) out.push(rel); // an empty directory is sent too
      } else if (!excluded) {
        out.push(rel);
      }
    }
  };
  await walk(root);
  for (const always of [dockerfile, ".dockerignore"]) {
    if (!out.includes(always)) {
      try {
        await lstat(join(root, always));
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
  return { stream: createTar(root, { paths }), count: paths.length };
}
