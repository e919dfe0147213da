/**
 * normalizeService: rewrites one service from any syntax the spec allows into the canonical
 * form of {@link ServiceConfig} (before files are merged, so merges compare like with like):
 * list-or-dict fields become maps, ports and volumes long syntax, command and entrypoint word
 * lists, depends_on and networks maps, durations Go strings, sizes bytes.
 *
 * @since 0.1.0
 */
import { InvalidArgument } from "@berth/errdefs";
import { formatDuration, parseDuration, parseSize } from "./duration.ts";
import { parsePort } from "./parsePorts.ts";
import { Override, Reset } from "./parseYaml.ts";
import { shellSplit } from "./shellSplit.ts";

type Raw = Record<string, unknown>;

/** listOrDict turns `["A=1", "B"]` or `{A: 1, B: null}` into a map (values as strings, null kept). */
export function listOrDict(v: unknown, sep = "="): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  if (Array.isArray(v)) {
    for (const item of v) {
      const s = String(item);
      const i = s.indexOf(sep);
      if (i === -1) out[s] = null;
      else out[s.slice(0, i)] = s.slice(i + 1);
    }
    return out;
  }
  if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) out[k] = x === null || x === undefined ? null : scalar(x);
  }
  return out;
}

function scalar(x: unknown): string {
  if (typeof x === "string") return x;
  if (typeof x === "boolean" || typeof x === "number") return String(x);
  return JSON.stringify(x);
}

function isPlain(v: unknown): v is Raw {
  return (
    v !== null &&
    typeof v === "object" &&
    !Array.isArray(v) &&
    !(v instanceof Reset) &&
    !(v instanceof Override)
  );
}

/** parseVolume expands a short-syntax volume (`src:dst[:mode]`) into long syntax. */
export function parseVolume(entry: unknown): Raw {
  if (isPlain(entry)) {
    const v = { ...entry };
    if (v.type === "bind" && !isPlain(v.bind)) v.bind = { create_host_path: true };
    if (v.type === "volume" && !isPlain(v.volume) && v.source !== undefined) v.volume = {};
    return v;
  }
  const text = String(entry);
  const parts = text.split(":");
  let source: string | undefined;
  let target: string;
  let mode: string | undefined;
  if (parts.length === 1) target = parts[0] as string;
  else if (parts.length === 2) {
    if ((parts[1] as string).startsWith("/")) {
      source = parts[0];
      target = parts[1] as string;
    } else {
      target = parts[0] as string;
      mode = parts[1];
    }
  } else if (parts.length === 3) {
    source = parts[0];
    target = parts[1] as string;
    mode = parts[2];
  } else {
    throw new InvalidArgument(
      `invalid volume specification ${JSON.stringify(text)}, expected [source:]target[:mode]`,
    );
  }
  if (target === "")
    throw new InvalidArgument(`invalid volume specification ${JSON.stringify(text)}: empty target`);
  const out: Raw = {};
  if (source === undefined || source === "") {
    out.type = "volume";
    out.target = target;
  } else if (/^[./~]/.test(source)) {
    out.type = "bind";
    out.source = source;
    out.target = target;
    out.bind = { create_host_path: true };
  } else {
    out.type = "volume";
    out.source = source;
    out.target = target;
    out.volume = {};
  }
  for (const m of (mode ?? "").split(",").filter((x) => x !== "")) {
    if (m === "ro") out.read_only = true;
    else if (m === "rw") out.read_only = false;
    else if (m === "nocopy") out.volume = { ...(out.volume as Raw), nocopy: true };
    else if (m === "z" || m === "Z") out.bind = { ...(out.bind as Raw), selinux: m };
    else if (/^r?(shared|slave|private)$/.test(m)) out.bind = { ...(out.bind as Raw), propagation: m };
    else throw new InvalidArgument(`invalid volume mode ${JSON.stringify(m)} in ${JSON.stringify(text)}`);
  }
  return out;
}

function words(v: unknown): unknown {
  if (v === null || v instanceof Reset || v instanceof Override) return v;
  if (typeof v === "string") return shellSplit(v);
  if (Array.isArray(v)) return v.map(String);
  return v;
}

function duration(v: unknown): unknown {
  if (v === undefined || v === null || v instanceof Reset) return v;
  return formatDuration(parseDuration(v as string));
}

/** normalizeService canonicalises one raw service mapping (a copy; the input is not changed). */
export function normalizeService(name: string, raw: Raw): Raw {
  const s: Raw = { ...raw };
  const map = (key: string, sep = "=") => {
    if (s[key] !== undefined && !(s[key] instanceof Reset) && !(s[key] instanceof Override)) {
      s[key] = listOrDict(s[key], sep);
    }
  };
  map("environment");
  map("labels");
  map("annotations");
  map("sysctls");
  if (s.extra_hosts !== undefined && Array.isArray(s.extra_hosts)) {
    const hosts: Record<string, string> = {};
    for (const h of s.extra_hosts) {
      const str = String(h);
      const i = str.search(/[=:]/);
      if (i === -1)
        throw new InvalidArgument(`services.${name}.extra_hosts: invalid entry ${JSON.stringify(str)}`);
      hosts[str.slice(0, i)] = str.slice(i + 1);
    }
    s.extra_hosts = hosts;
  }
  if ("command" in s) s.command = words(s.command);
  if ("entrypoint" in s) s.entrypoint = words(s.entrypoint);
  if (Array.isArray(s.ports)) s.ports = s.ports.flatMap((p) => parsePort(p));
  if (Array.isArray(s.expose)) s.expose = s.expose.map(String);
  if (Array.isArray(s.volumes)) s.volumes = s.volumes.map(parseVolume);
  if (typeof s.tmpfs === "string") s.tmpfs = [s.tmpfs];
  if (typeof s.dns === "string") s.dns = [s.dns];
  if (typeof s.env_file === "string") s.env_file = [s.env_file];
  if (Array.isArray(s.env_file)) {
    s.env_file = s.env_file.map((f) =>
      isPlain(f)
        ? { path: String(f.path), required: f.required !== false, ...(f.format ? { format: f.format } : {}) }
        : { path: String(f), required: true },
    );
  }
  if (Array.isArray(s.depends_on)) {
    const deps: Raw = {};
    for (const d of s.depends_on) deps[String(d)] = { condition: "service_started", required: true };
    s.depends_on = deps;
  } else if (isPlain(s.depends_on)) {
    const deps: Raw = {};
    for (const [k, d] of Object.entries(s.depends_on)) {
      const o = isPlain(d) ? d : {};
      deps[k] = { ...o, condition: o.condition ?? "service_started", required: o.required ?? true };
    }
    s.depends_on = deps;
  }
  if (Array.isArray(s.networks)) {
    const nets: Raw = {};
    for (const n of s.networks) nets[String(n)] = null;
    s.networks = nets;
  }
  if (typeof s.build === "string") s.build = { context: s.build };
  if (isPlain(s.build)) {
    const b: Raw = { ...s.build };
    if (b.args !== undefined) b.args = listOrDict(b.args);
    if (b.labels !== undefined) b.labels = listOrDict(b.labels);
    s.build = b;
  }
  if (isPlain(s.healthcheck)) {
    const h: Raw = { ...s.healthcheck };
    if (typeof h.test === "string") h.test = ["CMD-SHELL", h.test];
    for (const k of ["interval", "timeout", "start_period", "start_interval"])
      if (k in h) h[k] = duration(h[k]);
    if (h.retries !== undefined) h.retries = Number(h.retries);
    s.healthcheck = h;
  }
  if ("stop_grace_period" in s) s.stop_grace_period = duration(s.stop_grace_period);
  for (const k of ["mem_limit", "memswap_limit", "mem_reservation", "shm_size"]) {
    if (s[k] !== undefined && !(s[k] instanceof Reset)) s[k] = parseSize(s[k] as string);
  }
  if (s.cpus !== undefined) s.cpus = Number(s.cpus);
  if (s.scale !== undefined) s.scale = Number(s.scale);
  if (s.init !== undefined) s.init = s.init === true || s.init === "true";
  if (isPlain(s.ulimits)) {
    const u: Raw = {};
    for (const [k, v] of Object.entries(s.ulimits)) {
      u[k] = isPlain(v) ? { soft: Number(v.soft), hard: Number(v.hard) } : Number(v);
    }
    s.ulimits = u;
  }
  if (isPlain(s.deploy)) s.deploy = normalizeDeploy(s.deploy);
  for (const k of ["secrets", "configs"]) {
    if (Array.isArray(s[k]))
      s[k] = (s[k] as unknown[]).map((x) => (isPlain(x) ? { ...x } : { source: String(x) }));
  }
  return s;
}

function normalizeDeploy(d: Raw): Raw {
  const out: Raw = { ...d };
  if (out.replicas !== undefined) out.replicas = Number(out.replicas);
  if (isPlain(out.resources)) {
    const r: Raw = { ...out.resources };
    for (const k of ["limits", "reservations"]) {
      if (isPlain(r[k])) {
        const l: Raw = { ...(r[k] as Raw) };
        if (l.cpus !== undefined) l.cpus = Number(l.cpus);
        if (l.memory !== undefined) l.memory = parseSize(l.memory as string);
        if (l.pids !== undefined) l.pids = Number(l.pids);
        r[k] = l;
      }
    }
    out.resources = r;
  }
  if (isPlain(out.restart_policy)) {
    const rp: Raw = { ...out.restart_policy };
    if (rp.delay !== undefined) rp.delay = duration(rp.delay);
    if (rp.window !== undefined) rp.window = duration(rp.window);
    if (rp.max_attempts !== undefined) rp.max_attempts = Number(rp.max_attempts);
    out.restart_policy = rp;
  }
  return out;
}
