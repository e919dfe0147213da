import { readFileSync } from "node:fs";
import { StatusError } from "./Command.ts";

/**
 * readBuildSecrets reads `berth build --secret` values (buildx's syntax: `id=x,src=path`,
 * `id=x,source=path`, `id=x,env=VAR`, `type=file|env`; with only an id, the environment variable
 * of that name, else the file of that name) into the `secrets` query parameter of `POST /build`:
 * a JSON object of id to base64 content. Undefined when there are none. Values are never printed.
 */
export function readBuildSecrets(values: readonly string[]): string | undefined {
  if (values.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const v of values) {
    const f: Record<string, string> = {};
    for (const part of v.split(",")) {
      const eq = part.indexOf("=");
      if (eq <= 0) throw new StatusError(`invalid secret "${v}": expected key=value fields`, 125);
      f[part.slice(0, eq).toLowerCase()] = part.slice(eq + 1);
    }
    const id = f.id;
    if (!id) throw new StatusError(`invalid secret "${v}": id is required`, 125);
    const src = f.src ?? f.source;
    let data: Buffer;
    if (f.env !== undefined || (f.type === "env" && src !== undefined)) {
      const name = f.env ?? (src as string);
      const val = process.env[name];
      if (val === undefined)
        throw new StatusError(`secret ${id}: environment variable ${name} is not set`, 1);
      data = Buffer.from(val);
    } else {
      const path = src ?? (process.env[id] === undefined ? id : undefined);
      if (path === undefined) data = Buffer.from(process.env[id] as string);
      else {
        try {
          data = readFileSync(path);
        } catch (err) {
          throw new StatusError(`secret ${id}: cannot read ${path}: ${(err as Error).message}`, 1);
        }
      }
    }
    out[id] = data.toString("base64");
  }
  return JSON.stringify(out);
}
