import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { resolveInRoot } from "@berth/archive";
import { errnoCode, InvalidArgument, ResourceExhausted } from "@berth/errdefs";

/** ResolvedUser is the numeric identity a container process runs as. */
export interface ResolvedUser {
  readonly uid: number;
  readonly gid: number;
  readonly additionalGids: number[];
}

/** MAX_ID_FILE_BYTES bounds how much of an image's /etc/passwd or /etc/group is read. */
export const MAX_ID_FILE_BYTES = 4 * 1024 * 1024;

const MAX_ID = 2147483647;

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}
interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/**
 * resolveUser maps docker's `--user` value (`name`, `uid`, `name:group`,
 * `uid:gid`, empty for root) to numbers using the image's `/etc/passwd` and
 * `/etc/group`, with the semantics of moby/sys/user `GetExecUser`:
 * - the user matches a passwd entry by name or by numeric uid; an unmatched
 *   numeric uid is used as is (gid 0), an unmatched name fails with
 *   `unable to find user xyz: no matching entries in passwd file`;
 * - an explicit group matches by name or gid the same way (`unable to find
 *   group ...: no matching entries in group file`);
 * - without an explicit group, a user found by name gets its passwd gid and
 *   the supplementary groups listing it in /etc/group.
 *
 * The files are resolved inside `rootfs` (symlinks never lead out) and opened
 * without following a final link; missing files mean "no entries".
 */
export async function resolveUser(rootfs: string, user: string): Promise<ResolvedUser> {
  const colon = user.indexOf(":");
  let userArg = colon < 0 ? user : user.slice(0, colon);
  const groupArg = colon < 0 ? "" : user.slice(colon + 1);
  if (userArg === "") userArg = "0";

  const passwd = parsePasswd(await readIdFile(rootfs, "/etc/passwd"));
  const uidArg = parseId(userArg);
  const matched = passwd.find((u) => u.name === userArg || (uidArg !== undefined && u.uid === uidArg));
  let uid: number;
  let gid = 0;
  if (matched) {
    uid = matched.uid;
    gid = matched.gid;
  } else {
    if (uidArg === undefined) {
      if (/^-?\d+$/.test(userArg)) throw rangeError();
      throw new InvalidArgument(`unable to find user ${userArg}: no matching entries in passwd file`);
    }
    uid = uidArg;
  }

  let additionalGids: number[] = [];
  if (groupArg !== "" || matched) {
    const groups = parseGroup(await readIdFile(rootfs, "/etc/group"));
    if (groupArg !== "") {
      const gidArg = parseId(groupArg);
      const g = groups.find((x) => x.name === groupArg || (gidArg !== undefined && x.gid === gidArg));
      if (g) gid = g.gid;
      else if (gidArg !== undefined) gid = gidArg;
      else if (/^-?\d+$/.test(groupArg)) throw rangeError();
      else throw new InvalidArgument(`unable to find group ${groupArg}: no matching entries in group file`);
    } else if (matched) {
      additionalGids = groups.filter((g) => g.members.includes(matched.name)).map((g) => g.gid);
    }
  }
  return { uid, gid, additionalGids };
}

function rangeError(): InvalidArgument {
  return new InvalidArgument(`uids and gids must be in range 0-${MAX_ID}`);
}

function parseId(s: string): number | undefined {
  if (!/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n <= MAX_ID ? n : undefined;
}

async function readIdFile(rootfs: string, path: string): Promise<string> {
  const resolved = await resolveInRoot(rootfs, path);
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(resolved, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = errnoCode(err);
    if (code === "ENOENT" || code === "ENOTDIR" || code === "ELOOP") return "";
    throw err;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return "";
    if (st.size > MAX_ID_FILE_BYTES) {
      throw new ResourceExhausted(
        `${path} is ${st.size} bytes, more than the ${MAX_ID_FILE_BYTES} byte limit`,
      );
    }
    const buf = Buffer.alloc(st.size);
    const { bytesRead } = await fh.read(buf, 0, st.size, 0);
    return buf.subarray(0, bytesRead).toString("utf8");
  } finally {
    await fh.close();
  }
}

function lines(text: string): string[][] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => l.split(":"));
}

/** parsePasswd reads `name:x:uid:gid:gecos:home:shell` lines, skipping malformed ones. */
function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const f of lines(text)) {
    const uid = parseId(f[2] ?? "");
    const gid = parseId(f[3] ?? "");
    if (f[0] === undefined || uid === undefined) continue;
    out.push({ name: f[0], uid, gid: gid ?? 0 });
  }
  return out;
}

/** parseGroup reads `name:x:gid:member,member` lines, skipping malformed ones. */
function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const f of lines(text)) {
    const gid = parseId(f[2] ?? "");
    if (f[0] === undefined || gid === undefined) continue;
    const members = (f[3] ?? "").split(",").filter((m) => m !== "");
    out.push({ name: f[0], gid, members });
  }
  return out;
}
