/**
 * projectToYaml: renders a {@link Project} as `docker compose config` does: `name`, then
 * services, networks, volumes, secrets and configs, keys sorted inside services.
 *
 * @since 0.1.0
 */
import { stringify } from "yaml";
import type { Project } from "./Project.ts";

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}

/** projectModel returns the plain object `config` prints (also the basis of --format json). */
export function projectModel(p: Project): Record<string, unknown> {
  const services: Record<string, unknown> = {};
  for (const name of Object.keys(p.services).sort()) {
    const { name: _n, ...rest } = p.services[name] as Project["services"][string];
    services[name] = sortKeys(rest);
  }
  const out: Record<string, unknown> = { name: p.name, services };
  if (Object.keys(p.networks).length > 0) out.networks = sortKeys(p.networks);
  if (Object.keys(p.volumes).length > 0) out.volumes = sortKeys(p.volumes);
  if (Object.keys(p.secrets).length > 0) out.secrets = sortKeys(p.secrets);
  if (Object.keys(p.configs).length > 0) out.configs = sortKeys(p.configs);
  Object.assign(out, p.extensions);
  return out;
}

/** projectToYaml renders the normalised model as YAML. */
export function projectToYaml(p: Project): string {
  return stringify(projectModel(p), { lineWidth: 0, aliasDuplicateObjects: false });
}
