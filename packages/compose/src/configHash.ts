/**
 * configHash: the `com.docker.compose.config-hash` label, sha256 of the service's canonical
 * JSON with the fields that do not change a container left out (as docker compose's
 * ServiceHash drops build, scale/replicas, depends_on, profiles and pull_policy).
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto";
import type { ServiceConfig } from "./Project.ts";

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = canonical(x);
    }
    return out;
  }
  return v;
}

/** configHash returns the hex sha256 of the service's container-relevant configuration. */
export function configHash(service: ServiceConfig): string {
  const {
    build: _b,
    scale: _s,
    depends_on: _d,
    profiles: _p,
    pull_policy: _pp,
    develop: _dv,
    ...rest
  } = service;
  const deploy = rest.deploy ? { ...rest.deploy } : undefined;
  if (deploy) delete deploy.replicas;
  const subject = { ...rest, ...(deploy ? { deploy } : {}) };
  return createHash("sha256")
    .update(JSON.stringify(canonical(subject)))
    .digest("hex");
}
