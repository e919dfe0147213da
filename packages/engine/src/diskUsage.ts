import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

/**
 * diskUsage adds up the sizes of the regular files below a path, never following links (what
 * docker reports as a container's `SizeRw` or a volume's `UsageData.Size`). Unreadable entries
 * count as 0: a file removed while we walk is not an error.
 */
export async function diskUsage(path: string): Promise<number> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return 0;
  if (!st.isDirectory()) return st.isFile() ? st.size : 0;
  let total = 0;
  const children = await readdir(path).catch(() => [] as string[]);
  for (const child of children) total += await diskUsage(join(path, child));
  return total;
}
