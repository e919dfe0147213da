/**
 * registryAuth: the `X-Registry-Auth` header the CLI sends with pull and push, built from the
 * credentials `berth login` (or `docker login`) stored in docker's config.json for the image's
 * registry; `{}` (anonymous) when there are none. The header is a secret: never print it.
 *
 * @since 0.1.0
 */
import { Reference } from "@berth/oci";
import { authKey, DockerConfig } from "@berth/registry";

/** registryHostOf returns the registry host of an image reference (`docker.io` for Hub names). */
export function registryHostOf(image: string): string {
  try {
    return Reference.parseNormalizedNamed(image).domain;
  } catch {
    return "docker.io";
  }
}

/** encodeAuthConfig is docker's base64url JSON encoding of an auth config. */
export function encodeAuthConfig(cfg: Record<string, string>): string {
  return Buffer.from(JSON.stringify(cfg)).toString("base64url");
}

/** registryAuthFor returns the `X-Registry-Auth` value for pulling or pushing `image`. */
export async function registryAuthFor(image: string): Promise<string> {
  const host = registryHostOf(image);
  let cred: Awaited<ReturnType<DockerConfig["get"]>>;
  try {
    cred = await new DockerConfig().get(host);
  } catch {
    cred = undefined;
  }
  if (cred === undefined) return encodeAuthConfig({});
  return encodeAuthConfig({
    username: cred.username,
    password: cred.password,
    serveraddress: authKey(host),
    ...(cred.identityToken ? { identitytoken: cred.identityToken } : {}),
  });
}
