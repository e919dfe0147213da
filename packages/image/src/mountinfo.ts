import { readFile } from "node:fs/promises";

/** unescapeMount decodes the octal escapes (`\040` for space) of /proc mountinfo fields. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** mountPoints lists the mount points of this process's mount namespace (/proc/self/mountinfo field 5). */
export async function mountPoints(): Promise<string[]> {
  const text = await readFile("/proc/self/mountinfo", "utf8");
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(" ");
    if (f.length > 4) out.push(unescapeMount(f[4]!));
  }
  return out;
}

/** isMountPoint tells whether `path` (absolute, symlink-free) is a mount point. */
export async function isMountPoint(path: string): Promise<boolean> {
  return (await mountPoints()).includes(path);
}
