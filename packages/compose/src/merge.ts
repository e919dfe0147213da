/**
 * merge: the Compose Specification's merge rules (13-merge.md) for override files, `extends`
 * and `include`: mappings merge key by key, sequences append (without duplicates), `command`,
 * `entrypoint` and `healthcheck.test` are replaced, `ports`, `volumes`, `secrets` and
 * `configs` are merged by their unique key, `!reset` removes and `!override` replaces.
 * Both sides must already be canonical ({@link normalizeService}).
 *
 * @since 0.1.0
 */
import { Override, Reset } from "./parseYaml.ts";

type Raw = Record<string, unknown>;

const REPLACED = new Set(["command", "entrypoint", "healthcheck.test", "build.ssh", "dns"]);
const UNIQUE: Record<string, (x: Raw) => string> = {
  volumes: (x) => String(x.target),
  secrets: (x) => String(x.target ?? x.source),
  configs: (x) => String(x.target ?? x.source),
  ports: (x) => `${x.host_ip ?? ""}|${x.target}|${x.published ?? ""}|${x.protocol ?? "tcp"}`,
};

function isPlain(v: unknown): v is Raw {
  return (
    v !== null &&
    typeof v === "object" &&
    !Array.isArray(v) &&
    !(v instanceof Reset) &&
    !(v instanceof Override)
  );
}

/** mergeValue merges `over` into `base` at `path` (a dotted path relative to a service). */
export function mergeValue(base: unknown, over: unknown, path: string): unknown {
  if (over instanceof Reset) return undefined;
  if (over instanceof Override) return unwrap(over.value);
  if (base === undefined) return unwrap(over);
  if (isPlain(base) && isPlain(over)) {
    const out: Raw = { ...base };
    for (const [k, v] of Object.entries(over)) {
      const merged = mergeValue(out[k], v, path === "" ? k : `${path}.${k}`);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    }
    return out;
  }
  if (Array.isArray(base) && Array.isArray(over)) {
    if (REPLACED.has(path)) return unwrap(over);
    const key = UNIQUE[path];
    if (key) {
      const out: unknown[] = [...base];
      for (const item of over) {
        const idx = isPlain(item) ? out.findIndex((b) => isPlain(b) && key(b) === key(item)) : -1;
        if (idx === -1) out.push(unwrap(item));
        else out[idx] = mergeValue(out[idx], item, `${path}[]`);
      }
      return out;
    }
    const seen = new Set(base.map((x) => JSON.stringify(x)));
    const out = [...base];
    for (const item of over) {
      const k = JSON.stringify(item);
      if (!seen.has(k)) {
        seen.add(k);
        out.push(unwrap(item));
      }
    }
    return out;
  }
  return unwrap(over);
}

/** unwrap removes markers from a value that is taken as is. */
export function unwrap(v: unknown): unknown {
  if (v instanceof Override) return unwrap(v.value);
  if (v instanceof Reset) return undefined;
  if (Array.isArray(v)) return v.map(unwrap).filter((x) => x !== undefined);
  if (isPlain(v)) {
    const out: Raw = {};
    for (const [k, x] of Object.entries(v)) {
      const u = unwrap(x);
      if (u !== undefined) out[k] = u;
    }
    return out;
  }
  return v;
}

/** mergeModels merges a whole override file (already canonical) into a base model. */
export function mergeModels(base: Raw, over: Raw): Raw {
  const out: Raw = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (k === "services" && isPlain(v)) {
      const services: Raw = { ...(isPlain(out.services) ? out.services : {}) };
      for (const [name, svc] of Object.entries(v)) {
        const merged = mergeValue(services[name], svc, "");
        if (merged === undefined) delete services[name];
        else services[name] = merged;
      }
      out.services = services;
      continue;
    }
    const merged = mergeValue(out[k], v, `#${k}`);
    if (merged === undefined) delete out[k];
    else out[k] = merged;
  }
  return out;
}
