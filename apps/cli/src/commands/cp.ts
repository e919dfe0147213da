/**
 * `berth cp`: copies between a container and the local file system through
 * `HEAD|GET|PUT /containers/{id}/archive`, with the docker CLI's rules: a missing destination
 * takes the source's content under the destination's name, an existing directory receives the
 * source inside it, `SRC/.` copies a directory's content, `-` is a tar on stdin or stdout, and a
 * symlink destination in the container is followed to the path the daemon resolved it to.
 *
 * @since 0.1.0
 */
import { lstat, mkdtemp, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { applyLayer, createTar } from "@berth/archive";
import type { Client } from "@berth/client";
import { type CommandModule, StatusError } from "../Command.ts";
import { isNotFound } from "../daemonError.ts";
import { bool } from "../FlagParser.ts";

interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

const MODE_DIR = 2 ** 31;
const MODE_SYMLINK = 2 ** 27;

/** splitCpArg reads `CONTAINER:PATH` (a local path with a colon must start with `/` or `./`). */
export function splitCpArg(arg: string): { container?: string; path: string } {
  if (arg.startsWith("/") || arg.startsWith(".")) return { path: arg };
  const i = arg.indexOf(":");
  if (i <= 0) return { path: arg };
  return { container: arg.slice(0, i), path: arg.slice(i + 1) };
}

function decodeStat(header: string | string[] | undefined): PathStat | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (!v) return undefined;
  return JSON.parse(Buffer.from(v, "base64").toString("utf8")) as PathStat;
}

async function statPath(client: Client, container: string, path: string): Promise<PathStat | undefined> {
  try {
    const res = await client.request("HEAD", `/containers/${encodeURIComponent(container)}/archive`, {
      query: { path },
    });
    return decodeStat(res.headers["x-docker-container-path-stat"]);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function localStat(p: string) {
  try {
    return await stat(p);
  } catch {
    return undefined;
  }
}

async function copyFromContainer(
  client: Client,
  container: string,
  src: string,
  dst: string,
  followLink: boolean,
): Promise<void> {
  // -L: a symlink source is copied as what it points to, under the link's own name.
  let rebase: string | undefined;
  if (followLink) {
    const st = await statPath(client, container, src);
    if (st && (st.mode & MODE_SYMLINK) !== 0 && st.linkTarget !== "") {
      rebase = st.name;
      src = st.linkTarget;
    }
  }
  const res = await client.requestStream("GET", `/containers/${encodeURIComponent(container)}/archive`, {
    query: { path: src },
  });
  if (dst === "-") {
    for await (const chunk of res) {
      if (!process.stdout.write(chunk as Buffer)) await new Promise((r) => process.stdout.once("drain", r));
    }
    return;
  }
  const srcStat = decodeStat(res.headers["x-docker-container-path-stat"]);
  const srcIsDir = srcStat !== undefined && (srcStat.mode & MODE_DIR) !== 0;
  const target = resolve(dst);
  const existing = await localStat(target);
  const top = srcStat?.name ?? basename(src);
  if (existing?.isDirectory() && (rebase === undefined || top === ".")) {
    // Entries start with the source's name (or `.` for `SRC/.`): they land inside.
    await applyLayer(target, res, { whiteouts: "none" });
    return;
  }
  if (existing && srcIsDir) throw new StatusError(`cannot copy a directory to a file: ${dst}`, 1);
  if (!existing && dst.endsWith("/")) throw new StatusError(`destination directory ${dst} does not exist`, 1);
  const into = existing?.isDirectory() === true;
  const parent = into ? target : dirname(target);
  const finalPath = into ? join(target, rebase ?? top) : target;
  if (!(await localStat(parent))?.isDirectory())
    throw new StatusError(`destination directory ${parent} does not exist`, 1);
  // Unpack next to the destination, then move the one top entry into place under its name.
  const tmp = await mkdtemp(join(parent, ".berth-cp-"));
  try {
    await applyLayer(tmp, res, { whiteouts: "none" });
    if (into) await rm(finalPath, { recursive: true, force: true });
    await rename(top === "." ? tmp : join(tmp, top), finalPath);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function copyToContainer(
  client: Client,
  src: string,
  container: string,
  dst: string,
  copyUIDGID: boolean,
): Promise<void> {
  const put = async (path: string, body: NodeJS.ReadableStream) => {
    await client.request("PUT", `/containers/${encodeURIComponent(container)}/archive`, {
      query: { path, noOverwriteDirNonDir: "true", ...(copyUIDGID ? { copyUIDGID: "true" } : {}) },
      body,
      headers: { "Content-Type": "application/x-tar" },
    });
  };
  if (src === "-") {
    await put(dst, process.stdin);
    return;
  }
  const local = resolve(src);
  const st = await lstat(local).catch(() => undefined);
  if (!st) throw new StatusError(`lstat ${local}: no such file or directory`, 1);
  const contents = src.endsWith("/.");
  let dstStat = await statPath(client, container, dst);
  let dstPath = dst;
  if (dstStat && (dstStat.mode & MODE_SYMLINK) !== 0 && dstStat.linkTarget !== "") {
    dstPath = dstStat.linkTarget;
    dstStat = await statPath(client, container, dstPath);
  }
  const srcBase = basename(local);
  const tarOf = (rebase: string) =>
    contents
      ? createTar(local, { rename: (n) => `${rebase}/${n}` })
      : createTar(dirname(local), {
          paths: [`/${srcBase}`],
          rename: (n) => (n === srcBase ? rebase : `${rebase}${n.slice(srcBase.length)}`),
        });
  if (dstStat && (dstStat.mode & MODE_DIR) !== 0) {
    await put(dstPath, contents ? createTar(local) : tarOf(srcBase));
    return;
  }
  if (dstStat && st.isDirectory()) throw new StatusError("cannot copy a directory to a file", 1);
  if (!dstStat && dst.endsWith("/")) throw new StatusError(`destination directory ${dst} does not exist`, 1);
  const parent = dstPath.replace(/\/+$/, "").replace(/\/[^/]*$/, "") || "/";
  const name = dstPath.replace(/\/+$/, "").split("/").pop() || srcBase;
  await put(parent, tarOf(name));
}

/** command is `berth cp`. */
export const command: CommandModule = {
  spec: {
    name: "cp",
    use: "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
    short: "Copy files/folders between a container and the local filesystem",
    aliases: ["container cp", "cp"],
    flags: [
      { name: "archive", short: "a", type: "bool", usage: "Archive mode (copy all uid/gid information)" },
      { name: "follow-link", short: "L", type: "bool", usage: "Always follow symbol link in SRC_PATH" },
      {
        name: "quiet",
        short: "q",
        type: "bool",
        usage:
          "Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached",
      },
    ],
    args: { kind: "exact", n: 2 },
  },
  async run(inv) {
    const [a = "", b = ""] = inv.parsed.args;
    const src = splitCpArg(a);
    const dst = splitCpArg(b);
    if (src.container !== undefined && dst.container !== undefined)
      throw new StatusError("copying between containers is not supported", 1);
    if (src.container === undefined && dst.container === undefined)
      throw new StatusError("must specify at least one container source", 1);
    const client = await inv.client();
    if (src.container !== undefined) {
      if (src.path === "") throw new StatusError("filepath cannot be empty", 1);
      await copyFromContainer(client, src.container, src.path, dst.path, bool(inv.parsed, "follow-link"));
    } else {
      if (dst.path === "") throw new StatusError("filepath cannot be empty", 1);
      await copyToContainer(client, src.path, dst.container as string, dst.path, bool(inv.parsed, "archive"));
    }
    return 0;
  },
};
