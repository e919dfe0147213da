import { InvalidArgument } from "@berth/errdefs";

/**
 * Chmod is a parsed `--chmod`: octal bits set as they are, or a symbolic change (`u+x,g-w`,
 * `a=rX`) applied to each entry's own mode, as `chmod(1)` and BuildKit 1.14+ do.
 */
export type Chmod = number | ((mode: number, isDir: boolean) => number);

const CLAUSE = /^([ugoa]*)([-+=])([rwxXst]*|[ugo])$/;

/**
 * parseChmod reads `--chmod`: 3 or 4 octal digits, or comma-separated symbolic clauses
 * `[ugoa]*[+-=][rwxXst]*` (`X` is execute for directories or entries already executable by
 * someone; no `who` means all). Throws InvalidArgument naming the value otherwise.
 */
export function parseChmod(s: string): Chmod {
  if (/^[0-7]{3,4}$/.test(s)) return Number.parseInt(s, 8);
  const clauses = s.split(",").map((c) => {
    const m = CLAUSE.exec(c);
    if (m === null || c === "")
      throw new InvalidArgument(
        `invalid chmod parameter: ${JSON.stringify(s)}, expected octal such as 0755 or symbolic such as u+x,g-w`,
      );
    return { who: m[1] || "a", op: m[2] as "+" | "-" | "=", perms: m[3] ?? "" };
  });
  return (mode: number, isDir: boolean) => {
    let out = mode & 0o7777;
    for (const c of clauses) {
      let mask = 0;
      if (c.who.includes("u") || c.who.includes("a")) mask |= 0o4700;
      if (c.who.includes("g") || c.who.includes("a")) mask |= 0o2070;
      if (c.who.includes("o") || c.who.includes("a")) mask |= 0o1007;
      let bits = 0;
      if (c.perms === "u" || c.perms === "g" || c.perms === "o") {
        const shift = c.perms === "u" ? 6 : c.perms === "g" ? 3 : 0;
        const rwx = (out >> shift) & 7;
        bits = rwx * 0o111;
      } else {
        for (const p of c.perms) {
          if (p === "r") bits |= 0o444;
          else if (p === "w") bits |= 0o222;
          else if (p === "x") bits |= 0o111;
          else if (p === "X") {
            if (isDir || (out & 0o111) !== 0) bits |= 0o111;
          } else if (p === "s") bits |= 0o6000;
          else if (p === "t") bits |= 0o1000;
        }
      }
      bits &= mask;
      if (c.op === "+") out |= bits;
      else if (c.op === "-") out &= ~bits;
      else out = (out & ~(mask & 0o777)) | bits;
    }
    return out;
  };
}

/** applyChmod gives the mode an entry gets: `chmod` applied to `mode`, or `mode` unchanged. */
export function applyChmod(chmod: Chmod | undefined, mode: number, isDir: boolean): number {
  if (chmod === undefined) return mode & 0o7777;
  return typeof chmod === "number" ? chmod : chmod(mode & 0o7777, isDir);
}
