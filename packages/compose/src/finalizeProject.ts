/**
 * finalizeProject: turns the merged raw model into a {@link Project}: profiles, service
 * environments (env_file then environment, unset values from the project environment), the
 * default network, engine names for networks and volumes, and the consistency checks compose
 * makes (undefined services, networks and volumes, dependency cycles).
 *
 * @since 0.1.0
 */
import { readFileSync } from "node:fs";
import { InvalidArgument, NotFound } from "@berth/errdefs";
import type { FileObject, NetworkConfig, Project, ServiceConfig, VolumeConfig } from "./Project.ts";
import { parseDotEnv } from "./parseDotEnv.ts";

type Raw = Record<string, unknown>;

/** FinalizeOptions are the project-level facts decided by the loader. */
export interface FinalizeOptions {
  readonly name: string;
  readonly workingDir: string;
  readonly configFiles: string[];
  readonly environment: Record<string, string>;
  readonly profiles: readonly string[];
}

/** finalizeProject builds the Project from a merged model. */
export function finalizeProject(model: Raw, o: FinalizeOptions): Project {
  const all = (model.services ?? {}) as Record<string, Raw>;
  const services: Record<string, ServiceConfig> = {};
  const disabled: Record<string, ServiceConfig> = {};
  const active = new Set(o.profiles);
  for (const [name, raw] of Object.entries(all)) {
    const svc = finalizeService(name, raw, o.environment);
    const profiles = svc.profiles ?? [];
    const enabled = profiles.length === 0 || active.has("*") || profiles.some((p) => active.has(p));
    if (enabled) services[name] = svc;
    else disabled[name] = svc;
  }
  const networks: Record<string, NetworkConfig> = {};
  const rawNetworks = (model.networks ?? {}) as Record<string, Raw>;
  const needsDefault = Object.values(services).some((s) => "default" in (s.networks ?? {}));
  for (const [k, n] of Object.entries(rawNetworks)) networks[k] = named(k, n ?? {}, o.name) as NetworkConfig;
  if (needsDefault && !networks.default) networks.default = { name: `${o.name}_default` };
  const volumes: Record<string, VolumeConfig> = {};
  for (const [k, v] of Object.entries((model.volumes ?? {}) as Record<string, Raw>)) {
    volumes[k] = named(k, v ?? {}, o.name) as VolumeConfig;
  }
  const secrets: Record<string, FileObject> = {};
  for (const [k, v] of Object.entries((model.secrets ?? {}) as Record<string, Raw>)) {
    secrets[k] = named(k, v ?? {}, o.name) as FileObject;
  }
  const configs: Record<string, FileObject> = {};
  for (const [k, v] of Object.entries((model.configs ?? {}) as Record<string, Raw>)) {
    configs[k] = named(k, v ?? {}, o.name) as FileObject;
  }
  const extensions: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(model)) if (k.startsWith("x-")) extensions[k] = v;
  const project: Project = {
    name: o.name,
    workingDir: o.workingDir,
    configFiles: o.configFiles,
    services,
    disabledServices: disabled,
    networks,
    volumes,
    secrets,
    configs,
    environment: o.environment,
    extensions,
  };
  checkProject(project);
  return project;
}

function named(key: string, raw: Raw, project: string): Raw {
  const out: Raw = { ...raw };
  const ext = out.external;
  if (ext !== null && typeof ext === "object") {
    // legacy `external: {name: x}`
    const n = (ext as Raw).name;
    out.external = true;
    if (typeof n === "string") out.name = n;
  }
  if (typeof out.name !== "string") out.name = out.external === true ? key : `${project}_${key}`;
  return out;
}

function finalizeService(name: string, raw: Raw, env: Record<string, string>): ServiceConfig {
  const s = { ...raw, name } as ServiceConfig;
  const environment: Record<string, string | null> = {};
  for (const f of s.env_file ?? []) {
    let text: string;
    try {
      text = readFileSync(f.path, "utf8");
    } catch {
      if (!f.required) continue;
      throw new NotFound(`env file ${f.path} not found: no such file or directory`, { code: "ERR_ENV_FILE" });
    }
    Object.assign(environment, parseDotEnv(text, { filename: f.path, lookup: (n) => env[n] }));
  }
  for (const [k, v] of Object.entries(s.environment ?? {})) environment[k] = v ?? env[k] ?? null;
  if (s.env_file !== undefined || s.environment !== undefined) s.environment = environment;
  if (s.networks === undefined && s.network_mode === undefined) s.networks = { default: null };
  const replicas = (s.deploy as Raw | undefined)?.replicas;
  if (s.scale === undefined && typeof replicas === "number") s.scale = replicas;
  return s;
}

/** checkProject applies compose's consistency checks. */
function checkProject(p: Project): void {
  for (const [name, s] of Object.entries(p.services)) {
    for (const [dep, d] of Object.entries(s.depends_on ?? {})) {
      if (p.services[dep]) continue;
      if (p.disabledServices[dep] && !d.required) continue;
      if (p.disabledServices[dep]) {
        throw new InvalidArgument(
          `service ${JSON.stringify(dep)} is required by ${JSON.stringify(name)} but is disabled (profiles)`,
        );
      }
      if (!d.required) continue;
      throw new InvalidArgument(
        `service ${JSON.stringify(name)} depends on undefined service ${JSON.stringify(dep)}: invalid compose project`,
        {
          code: "ERR_UNDEFINED_SERVICE",
        },
      );
    }
    for (const net of Object.keys(s.networks ?? {})) {
      if (!p.networks[net]) {
        throw new InvalidArgument(
          `service ${JSON.stringify(name)} refers to undefined network ${net}: invalid compose project`,
        );
      }
    }
    for (const v of s.volumes ?? []) {
      if (v.type === "volume" && v.source !== undefined && !p.volumes[v.source]) {
        throw new InvalidArgument(
          `service ${JSON.stringify(name)} refers to undefined volume ${v.source}: invalid compose project`,
        );
      }
    }
    for (const kind of ["secrets", "configs"] as const) {
      for (const ref of s[kind] ?? []) {
        if (!p[kind][ref.source]) {
          throw new InvalidArgument(
            `service ${JSON.stringify(name)} refers to undefined ${kind.slice(0, -1)} ${ref.source}: invalid compose project`,
          );
        }
      }
    }
  }
  // dependency cycles (depth-first, in file order, reporting the path as compose-go does)
  const state = new Map<string, 1 | 2>();
  const visit = (n: string, path: string[]): void => {
    if (state.get(n) === 2) return;
    if (state.get(n) === 1) {
      const from = path.indexOf(n);
      throw new InvalidArgument(`dependency cycle detected: ${[...path.slice(from), n].join(" -> ")}`, {
        code: "ERR_DEPENDENCY_CYCLE",
      });
    }
    state.set(n, 1);
    for (const dep of Object.keys(p.services[n]?.depends_on ?? {}))
      if (p.services[dep]) visit(dep, [...path, n]);
    state.set(n, 2);
  };
  for (const n of Object.keys(p.services)) visit(n, []);
}
