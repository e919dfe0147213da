/**
 * parseDotEnv: the `.env` / `env_file` grammar compose-go's dotenv package accepts: `KEY=VALUE`,
 * `export KEY=VALUE`, `KEY: VALUE`, single quotes (literal, `\'` escapes a quote), double quotes
 * (escapes `\n \t \r \" \\ \$`, may span lines, interpolated), unquoted values (trimmed, ` #`
 * starts a comment, interpolated), and a bare `KEY` that inherits the caller's value (skipped
 * when unset). Variables defined earlier in the file are visible to later lines.
 *
 * @since 0.1.0
 */
import { InvalidArgument } from "@berth/errdefs";
import { interpolateString, type Lookup } from "./interpolate.ts";

/** ParseDotEnvOptions configures {@link parseDotEnv}. */
export interface ParseDotEnvOptions {
  /** Values for bare `KEY` lines and for `${VAR}` not defined earlier in the file. */
  readonly lookup?: Lookup;
  /** File name used in error messages. */
  readonly filename?: string;
}

const KEY = /^[A-Za-z0-9_.\-[\]]+$/;

/** parseDotEnv parses an env file's text into an ordered map. Throws InvalidArgument with the line number. */
export function parseDotEnv(text: string, opts: ParseDotEnvOptions = {}): Record<string, string> {
  const out: Record<string, string> = {};
  const src = text.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  const lookup: Lookup = (name) => (name in out ? out[name] : opts.lookup?.(name));
  const where = (line: number) => `${opts.filename ? `${opts.filename}:` : "line "}${line}`;
  let i = 0;
  let line = 1;
  while (i < src.length) {
    // skip blank lines and comments
    const eol = src.indexOf("\n", i);
    const end = eol === -1 ? src.length : eol;
    const raw = src.slice(i, end);
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) {
      i = end + 1;
      line++;
      continue;
    }
    let rest = raw.replace(/^\s+/, "");
    if (/^export\s/.test(rest)) rest = rest.replace(/^export\s+/, "");
    const sep = /[=:]/.exec(rest);
    const startLine = line;
    if (!sep) {
      const key = rest.trim();
      if (!KEY.test(key)) {
        throw new InvalidArgument(
          `${where(line)}: unexpected character in variable name ${JSON.stringify(key)}`,
        );
      }
      const v = opts.lookup?.(key);
      if (v !== undefined) out[key] = v;
      i = end + 1;
      line++;
      continue;
    }
    const key = rest.slice(0, sep.index).trim();
    if (!KEY.test(key)) {
      throw new InvalidArgument(
        `${where(line)}: key cannot contain a space or special character, found ${JSON.stringify(key)}`,
      );
    }
    // value starts after the separator in the whole source (it may span lines)
    const valueStart = i + (raw.length - rest.length) + sep.index + 1;
    let j = valueStart;
    while (j < src.length && (src[j] === " " || src[j] === "\t")) j++;
    const q = src[j];
    let value: string;
    if (q === "'" || q === '"') {
      let k = j + 1;
      let buf = "";
      let closed = false;
      while (k < src.length) {
        const c = src[k] as string;
        if (c === "\\" && k + 1 < src.length) {
          const n = src[k + 1] as string;
          if (q === "'") {
            if (n === "'") {
              buf += "'";
              k += 2;
              continue;
            }
            buf += c;
            k++;
            continue;
          }
          const map: Record<string, string> = { n: "\n", t: "\t", r: "\r", '"': '"', "\\": "\\", $: "\\$" };
          buf += map[n] ?? `\\${n}`;
          k += 2;
          continue;
        }
        if (c === q) {
          closed = true;
          break;
        }
        if (c === "\n") line++;
        buf += c;
        k++;
      }
      if (!closed) throw new InvalidArgument(`${where(startLine)}: unterminated quoted value for ${key}`);
      value = q === '"' ? interpolateString(escapeDollars(buf), lookup) : buf;
      // the rest of the line must be blank or a comment
      const lineEnd = src.indexOf("\n", k);
      const tail = src.slice(k + 1, lineEnd === -1 ? src.length : lineEnd).trim();
      if (tail !== "" && !tail.startsWith("#")) {
        throw new InvalidArgument(
          `${where(line)}: unexpected text after quoted value: ${JSON.stringify(tail)}`,
        );
      }
      i = lineEnd === -1 ? src.length : lineEnd + 1;
      line++;
    } else {
      const lineEnd = src.indexOf("\n", j);
      let v = src.slice(j, lineEnd === -1 ? src.length : lineEnd);
      const hash = v.search(/\s#/);
      if (hash !== -1) v = v.slice(0, hash);
      else if (v.startsWith("#")) v = "";
      value = interpolateString(v.trim(), lookup);
      i = lineEnd === -1 ? src.length : lineEnd + 1;
      line++;
    }
    out[key] = value;
  }
  return out;
}

/** escapeDollars keeps `\$` literal through interpolation by turning it into `$$`. */
function escapeDollars(s: string): string {
  return s.replace(/\\\$/g, "$$$$");
}
