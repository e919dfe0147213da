import { DockerIgnore } from "@berth/dockerfile";
import type { MatchedSource } from "./SourceTree.ts";

/**
 * excludeSources applies `COPY/ADD --exclude` patterns (`.dockerignore` syntax, `!` exceptions
 * included) to matched sources, as BuildKit does: a pattern is matched against each entry's path
 * relative to the directory the source names, and, for the named object itself, against its path
 * in the source root and its base name (so `--exclude=*.txt` drops `a.txt` from `COPY *.txt /d/`
 * as well as `dir/b.txt` from `COPY dir /d/`). A source left without entries is dropped.
 */
export function excludeSources(
  sources: readonly MatchedSource[],
  patterns: readonly string[],
): MatchedSource[] {
  if (patterns.length === 0) return [...sources];
  const m = DockerIgnore.fromPatterns(patterns);
  const out: MatchedSource[] = [];
  for (const s of sources) {
    const top = s.top;
    const base = top.rel.slice(top.rel.lastIndexOf("/") + 1);
    if (top.rel !== "" && (m.matches(top.rel) || m.matches(base))) continue;
    if (!top.stat.isDirectory()) {
      out.push(s);
      continue;
    }
    const prefix = top.rel === "" ? "" : `${top.rel}/`;
    // matches() also tests every parent directory, so a dropped directory drops its contents.
    const entries = s.entries.filter((e) => e === top || !m.matches(e.rel.slice(prefix.length)));
    out.push({ top, entries });
  }
  return out;
}
