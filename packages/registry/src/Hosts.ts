/**
 * Where a registry host is reached and how: Docker Hub's API host, plain HTTP only for
 * loopback and explicitly insecure registries, and docker's `certs.d` layout for per-registry
 * CA and client certificates (`<certsDir>/<host>/ca.crt`, `*.crt`, `client.cert` + `client.key`).
 *
 * @since 0.1.0
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { InvalidArgument } from "@berth/errdefs";

/** DEFAULT_CERTS_DIR is where Berth looks for per-registry certificates (docker: /etc/docker/certs.d). */
export const DEFAULT_CERTS_DIR = "/etc/berth/certs.d";

/** Endpoint is how to talk to a registry host. */
export interface Endpoint {
  /** The registry host as named in references (`127.0.0.1:5000`, `docker.io`). */
  readonly host: string;
  /** Base URL of the API (`https://registry-1.docker.io`, `http://127.0.0.1:5000`). */
  readonly base: string;
  /** Extra trusted CAs (PEM), when certs.d has some. */
  readonly ca?: Buffer[];
  /** Client certificate and key (PEM), when certs.d has them. */
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /**
   * Skip certificate verification: only for loopback or insecure-listed registries that turned
   * out to speak TLS without a CA in certs.d (docker's insecure-registry behaviour).
   */
  readonly skipVerify?: boolean;
}

/** isLoopback tells whether a host (with optional port) is localhost or a loopback address. */
export function isLoopback(host: string): boolean {
  const name = hostnameOf(host);
  return name === "localhost" || name === "::1" || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/** hostnameOf drops the port (`[::1]:5000` -> `::1`, `a:5000` -> `a`). */
export function hostnameOf(host: string): string {
  if (host.startsWith("[")) return host.slice(1, host.indexOf("]"));
  const colon = host.lastIndexOf(":");
  return colon >= 0 && host.indexOf(":") === colon ? host.slice(0, colon) : host;
}

/** apiHost maps `docker.io` to the host that serves Docker Hub's API. */
export function apiHost(host: string): string {
  return host === "docker.io" || host === "index.docker.io" ? "registry-1.docker.io" : host;
}

/**
 * resolveEndpoint decides scheme and TLS material for `host`. Loopback hosts and hosts in
 * `insecure` use plain HTTP; every other host uses HTTPS with the system CAs plus any
 * `ca.crt`/`*.crt` in `<certsDir>/<host>/`, and a client certificate when `client.cert` and
 * `client.key` are both there.
 */
export async function resolveEndpoint(
  host: string,
  opts: { insecure?: readonly string[]; certsDir?: string } = {},
): Promise<Endpoint> {
  if (host === "" || /[/\s]/.test(host)) {
    throw new InvalidArgument(`invalid registry host ${JSON.stringify(host)}: expected host[:port]`);
  }
  const target = apiHost(host);
  const certsDir = opts.certsDir ?? DEFAULT_CERTS_DIR;
  const dir = join(certsDir, host);
  let files: string[] = [];
  try {
    files = await readdir(dir);
  } catch {
    files = [];
  }
  const tlsFiles = files.some((f) => f.endsWith(".crt") || f.endsWith(".cert"));
  const plain = !tlsFiles && (isLoopback(host) || (opts.insecure ?? []).includes(host));
  if (plain) return { host, base: `http://${target}` };
  const ca: Buffer[] = [];
  for (const f of files.filter((f) => f.endsWith(".crt")).sort()) ca.push(await readFile(join(dir, f)));
  const ep: { host: string; base: string; ca?: Buffer[]; cert?: Buffer; key?: Buffer } = {
    host,
    base: `https://${target}`,
  };
  if (ca.length > 0) ep.ca = ca;
  if (files.includes("client.cert")) {
    if (!files.includes("client.key")) {
      throw new InvalidArgument(`missing key client.key for client certificate ${join(dir, "client.cert")}`);
    }
    ep.cert = await readFile(join(dir, "client.cert"));
    ep.key = await readFile(join(dir, "client.key"));
  }
  return ep;
}
