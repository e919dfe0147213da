/**
 * Parsing of `WWW-Authenticate` challenges (RFC 7235) as registries send them:
 * `Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull"`
 * or `Basic realm="basic-realm"`.
 *
 * @since 0.1.0
 */

/** Challenge is one parsed authentication challenge. */
export interface Challenge {
  /** Lower-case scheme: `basic` or `bearer` (others are kept as given, lower-cased). */
  readonly scheme: string;
  /** Parameters with lower-case names (`realm`, `service`, `scope`, `error`). */
  readonly params: Readonly<Record<string, string>>;
}

/**
 * parseChallenges parses a `WWW-Authenticate` header value (or several) into challenges.
 * Quoted strings may contain commas and backslash escapes; unknown syntax is skipped.
 */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const values = Array.isArray(header) ? header : [header];
  const out: Challenge[] = [];
  for (const value of values) {
    let i = 0;
    const s = value;
    let current: { scheme: string; params: Record<string, string> } | undefined;
    const skipSpace = () => {
      while (i < s.length && (s[i] === " " || s[i] === "\t" || s[i] === ",")) i++;
    };
    const token = () => {
      const start = i;
      while (i < s.length && /[A-Za-z0-9!#$%&'*+.^_`|~-]/.test(s[i]!)) i++;
      return s.slice(start, i);
    };
    while (i < s.length) {
      skipSpace();
      const t = token();
      if (t === "") {
        i++;
        continue;
      }
      while (i < s.length && s[i] === " ") i++;
      if (s[i] === "=") {
        i++;
        while (i < s.length && s[i] === " ") i++;
        let v = "";
        if (s[i] === '"') {
          i++;
          while (i < s.length && s[i] !== '"') {
            if (s[i] === "\\" && i + 1 < s.length) i++;
            v += s[i];
            i++;
          }
          i++;
        } else {
          const start = i;
          while (i < s.length && s[i] !== ",") i++;
          v = s.slice(start, i).trim();
        }
        if (current !== undefined) current.params[t.toLowerCase()] = v;
      } else {
        current = { scheme: t.toLowerCase(), params: {} };
        out.push(current);
      }
    }
  }
  return out;
}
