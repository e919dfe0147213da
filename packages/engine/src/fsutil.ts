import { mkdir } from "node:fs/promises";

/** ensureDir creates a private directory (0700 for the data root, threat row I12). */
export async function ensureDir(path: string, mode = 0o700): Promise<void> {
  await mkdir(path, { recursive: true, mode });
}
