import { withSuggestion } from "../suggest.ts";
import { InstructionError } from "./Flags.ts";

/** MountType is the kind of a `RUN --mount`. */
export type MountType = "bind" | "cache" | "tmpfs" | "secret" | "ssh";
/** ShareMode is a cache mount's `sharing=`. */
export type ShareMode = "shared" | "private" | "locked";

/** Mount is one parsed `RUN --mount=...` (BuildKit `instructions.Mount`). */
export interface Mount {
  readonly type: MountType;
  readonly from?: string;
  readonly source?: string;
  readonly target?: string;
  readonly readOnly: boolean;
  /** tmpfs size in bytes. */
  readonly sizeLimit?: number;
  /** `id=` (cache id, secret id, ssh id). */
  readonly id?: string;
  readonly sharing?: ShareMode;
  readonly required?: boolean;
  /** Secret exposed as this environment variable. */
  readonly env?: string;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
}

const TYPES: readonly MountType[] = ["bind", "cache", "tmpfs", "secret", "ssh"];
const SHARING: readonly ShareMode[] = ["shared", "private", "locked"];
const KEYS = [
  "type",
  "from",
  "source",
  "target",
  "readonly",
  "id",
  "sharing",
  "required",
  "size",
  "mode",
  "uid",
  "gid",
  "src",
  "dst",
  "destination",
  "ro",
  "rw",
  "readwrite",
  "env",
];

/** csvFields splits one CSV record (double quotes group, `""` is a quote). */
export function csvFields(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = "";
    if (s[i] === '"') {
      i++;
      for (;;) {
        if (i >= s.length)
          throw new InstructionError(`failed to parse csv mounts: extraneous or missing " in quoted-field`);
        if (s[i] === '"') {
          if (s[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += s[i];
        i++;
      }
      if (i < s.length && s[i] !== ",")
        throw new InstructionError(`failed to parse csv mounts: extraneous " in field`);
    } else {
      const j = s.indexOf(",", i);
      field = j < 0 ? s.slice(i) : s.slice(i, j);
      i = j < 0 ? s.length : j;
    }
    out.push(field);
    if (i >= s.length) return out;
    i++;
  }
}

function parseBool(key: string, v: string): boolean {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(v)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(v)) return false;
  throw new InstructionError(`invalid value for ${key}: ${v}`);
}

function parseUint(v: string, radix: 8 | 10, what: string): number {
  const re = radix === 8 ? /^[0-7]+$/ : /^\d+$/;
  const n = re.test(v) ? Number.parseInt(v, radix) : Number.NaN;
  if (!Number.isFinite(n) || n > 0xffffffff) throw new InstructionError(`invalid value ${v} for ${what}`);
  return n;
}

/** ramInBytes parses sizes like `64m`, `1g`, `512k`, `100` (binary units, as docker's units.RAMInBytes). */
export function ramInBytes(v: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp]?)(i?b?)$/i.exec(v);
  if (m === null) throw new Error(`invalid size: '${v}'`);
  const pow = "bkmgtp".indexOf((m[2] || "b").toLowerCase());
  return Math.floor(Number(m[1]) * 1024 ** pow);
}

/**
 * parseMount parses one `--mount` value (CSV of key=value). `expand` is applied to every value
 * (the builder passes its word expander); without it values are taken literally. Defaults: type
 * bind; read-only for bind, secret and ssh, read-write for cache and tmpfs.
 */
export function parseMount(value: string, expand: (word: string) => string = (w) => w): Mount {
  const m: {
    -readonly [K in keyof Mount]: Mount[K];
  } = { type: "bind", readOnly: false };
  let roAuto = true;
  for (const field of csvFields(value)) {
    const eq = field.indexOf("=");
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      if (key === "readonly" || key === "ro") {
        m.readOnly = true;
        roAuto = false;
      } else if (key === "readwrite" || key === "rw") {
        m.readOnly = false;
        roAuto = false;
      } else if (key === "required") {
        if (m.type !== "secret" && m.type !== "ssh") {
          throw new InstructionError(`unexpected key '${key}' for mount type '${m.type}'`);
        }
        m.required = true;
      } else {
        throw new InstructionError(`invalid field '${field}' must be a key=value pair`);
      }
      continue;
    }
    const v = expand(field.slice(eq + 1));
    switch (key) {
      case "type": {
        const t = v.toLowerCase() as MountType;
        if (!TYPES.includes(t))
          throw new InstructionError(withSuggestion(`unsupported mount type "${v}"`, v, TYPES, true));
        m.type = t;
        break;
      }
      case "from":
        m.from = v;
        break;
      case "source":
      case "src":
        m.source = v;
        break;
      case "target":
      case "dst":
      case "destination":
        m.target = v;
        break;
      case "readonly":
      case "ro":
        m.readOnly = parseBool(key, v);
        roAuto = false;
        break;
      case "readwrite":
      case "rw":
        m.readOnly = !parseBool(key, v);
        roAuto = false;
        break;
      case "required":
        if (m.type !== "secret" && m.type !== "ssh") {
          throw new InstructionError(`unexpected key '${key}' for mount type '${m.type}'`);
        }
        m.required = parseBool(key, v);
        break;
      case "size":
        if (m.type !== "tmpfs")
          throw new InstructionError(`unexpected key '${key}' for mount type '${m.type}'`);
        try {
          m.sizeLimit = ramInBytes(v);
        } catch {
          throw new InstructionError(`invalid value for ${key}: ${v}`);
        }
        break;
      case "id":
        m.id = v;
        break;
      case "sharing": {
        const s = v.toLowerCase() as ShareMode;
        if (!SHARING.includes(s)) {
          throw new InstructionError(withSuggestion(`unsupported sharing value "${v}"`, v, SHARING, true));
        }
        m.sharing = s;
        break;
      }
      case "mode":
        m.mode = parseUint(v, 8, "mode");
        break;
      case "uid":
        m.uid = parseUint(v, 10, "uid");
        break;
      case "gid":
        m.gid = parseUint(v, 10, "gid");
        break;
      case "env":
        m.env = v;
        break;
      default:
        throw new InstructionError(withSuggestion(`unexpected key '${key}' in '${field}'`, key, KEYS, true));
    }
  }
  const fileInfoAllowed = m.type === "secret" || m.type === "ssh" || m.type === "cache";
  if (!fileInfoAllowed) {
    for (const k of ["mode", "uid", "gid"] as const) {
      if (m[k] !== undefined) throw new InstructionError(`${k} not allowed for "${m.type}" type mounts`);
    }
  }
  if (roAuto) m.readOnly = !(m.type === "cache" || m.type === "tmpfs");
  if (m.type === "secret") {
    if (m.from !== undefined && m.from !== "")
      throw new InstructionError("secret mount should not have a from");
    if (m.sharing !== undefined) throw new InstructionError("secret mount should not define sharing");
    if (!m.source && !m.target && !m.id)
      throw new InstructionError("invalid secret mount. one of source, target required");
    if (m.source && m.id) throw new InstructionError("both source and id can't be set");
  }
  if (m.sharing !== undefined && m.type !== "cache") {
    throw new InstructionError(`invalid cache sharing set for ${m.type} mount`);
  }
  return m;
}
