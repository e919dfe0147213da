/**
 * Media types and header names of the Engine API wire protocol.
 *
 * @since 0.1.0
 */

/** RAW_STREAM is the Content-Type of a hijacked or streamed body sent as-is (the container has a TTY). */
export const RAW_STREAM = "application/vnd.docker.raw-stream";

/** MULTIPLEXED_STREAM is the Content-Type of a body framed with 8-byte stdout/stderr headers (no TTY). */
export const MULTIPLEXED_STREAM = "application/vnd.docker.multiplexed-stream";

/** JSON is the Content-Type of ordinary JSON answers and error bodies. */
export const JSON_CONTENT_TYPE = "application/json";

/** PLAIN_TEXT is the Content-Type dockerd uses for `/_ping` and for too-old-version errors. */
export const PLAIN_TEXT = "text/plain; charset=utf-8";

/** Headers names the daemon sets on every answer (lower-case, as Node exposes them). */
export const Headers = {
  /** `Api-Version`: the highest API version the daemon speaks. */
  apiVersion: "api-version",
  /** `Docker-Experimental`: "true" when experimental features are on. */
  experimental: "docker-experimental",
  /** `Ostype`: "linux" or "windows". */
  osType: "ostype",
  /** `Server`: e.g. `Berth/0.1.0 (linux)`. */
  server: "server",
  /** `Builder-Version`: "1" (classic) or "2" (BuildKit) on `/_ping`. */
  builderVersion: "builder-version",
} as const;

/** HEADER_CANONICAL maps the lower-case names in {@link Headers} to the spelling dockerd writes. */
export const HEADER_CANONICAL: Readonly<Record<string, string>> = {
  "api-version": "Api-Version",
  "docker-experimental": "Docker-Experimental",
  ostype: "Ostype",
  server: "Server",
  "builder-version": "Builder-Version",
};
