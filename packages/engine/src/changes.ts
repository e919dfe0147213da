import { InvalidArgument } from "@berth/errdefs";

/** The image config fields `import --change` may set. */
export interface ConfigChanges {
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  ExposedPorts?: Record<string, object>;
  Labels?: Record<string, string>;
  OnBuild?: string[];
  User?: string;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  StopSignal?: string;
}

const ALLOWED = [
  "CMD",
  "ENTRYPOINT",
  "ENV",
  "EXPOSE",
  "LABEL",
  "ONBUILD",
  "USER",
  "VOLUME",
  "WORKDIR",
  "STOPSIGNAL",
];

/** splitWords splits a shell-ish argument list, honouring double and single quotes and backslashes. */
function splitWords(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quote: string | undefined;
  let any = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === "\\" && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      any = true;
    } else if (ch === "\\" && i + 1 < s.length) {
      cur += s[++i];
      any = true;
    } else if (/\s/.test(ch)) {
      if (cur !== "" || any) out.push(cur);
      cur = "";
      any = false;
    } else {
      cur += ch;
    }
  }
  if (quote) throw new InvalidArgument(`unterminated quote in ${JSON.stringify(s)}`);
  if (cur !== "" || any) out.push(cur);
  return out;
}

/** jsonOrShell reads an exec-form JSON array, or wraps a shell-form command in `/bin/sh -c`. */
function jsonOrShell(rest: string): string[] {
  const t = rest.trim();
  if (t.startsWith("[")) {
    try {
      const v = JSON.parse(t) as unknown;
      if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v;
    } catch {
      // not JSON: docker then treats it as shell form
    }
  }
  return ["/bin/sh", "-c", t];
}

/** keyValues parses `k=v k2="v 2"` pairs, or the legacy `k v` single pair. */
function keyValues(rest: string, what: string): Array<[string, string]> {
  const words = splitWords(rest);
  if (words.length === 0) throw new InvalidArgument(`${what} requires at least one argument`);
  if (!words[0]!.includes("=")) {
    const sp = rest.trim().search(/\s/);
    if (sp < 0) throw new InvalidArgument(`${what} must have two arguments`);
    return [[rest.trim().slice(0, sp), rest.trim().slice(sp).trim()]];
  }
  return words.map((w) => {
    const eq = w.indexOf("=");
    if (eq <= 0) throw new InvalidArgument(`${what} names can not be blank: ${JSON.stringify(w)}`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

/**
 * parseChanges applies docker's `import --change` Dockerfile instructions (CMD, ENTRYPOINT, ENV,
 * EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL) to an image config.
 */
export function parseChanges(changes: string[], base: ConfigChanges = {}): ConfigChanges {
  const out: ConfigChanges = { ...base };
  for (const raw of changes) {
    const line = raw.trim();
    if (line === "") continue;
    const m = /^(\S+)\s*([\s\S]*)$/.exec(line);
    const instr = m?.[1]?.toUpperCase() ?? "";
    const rest = m?.[2] ?? "";
    if (!ALLOWED.includes(instr)) {
      throw new InvalidArgument(`${instr.toLowerCase()} is not a valid change command`);
    }
    switch (instr) {
      case "CMD":
        out.Cmd = jsonOrShell(rest);
        break;
      case "ENTRYPOINT":
        out.Entrypoint = jsonOrShell(rest);
        break;
      case "ENV": {
        const env = [...(out.Env ?? [])];
        for (const [k, v] of keyValues(rest, "ENV")) {
          const i = env.findIndex((e) => e.split("=")[0] === k);
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        out.Env = env;
        break;
      }
      case "LABEL":
        out.Labels = { ...(out.Labels ?? {}), ...Object.fromEntries(keyValues(rest, "LABEL")) };
        break;
      case "EXPOSE": {
        const ports = { ...(out.ExposedPorts ?? {}) };
        for (const p of splitWords(rest)) {
          if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/i.test(p))
            throw new InvalidArgument(`invalid containerPort: ${p}`);
          ports[p.includes("/") ? p.toLowerCase() : `${p}/tcp`] = {};
        }
        out.ExposedPorts = ports;
        break;
      }
      case "VOLUME": {
        const vols = { ...(out.Volumes ?? {}) };
        const t = rest.trim();
        const list = t.startsWith("[") ? (JSON.parse(t) as string[]) : splitWords(t);
        for (const v of list) {
          if (!v.startsWith("/") || v.split("/").includes("..")) {
            throw new InvalidArgument(
              `invalid volume path ${JSON.stringify(v)}: must be absolute and must not contain ".."`,
            );
          }
          vols[v] = {};
        }
        out.Volumes = vols;
        break;
      }
      case "ONBUILD":
        out.OnBuild = [...(out.OnBuild ?? []), rest.trim()];
        break;
      case "USER":
        out.User = rest.trim();
        break;
      case "WORKDIR":
        out.WorkingDir = rest.trim().startsWith("/") ? rest.trim() : `/${rest.trim()}`;
        break;
      case "STOPSIGNAL":
        out.StopSignal = rest.trim();
        break;
    }
  }
  return out;
}
