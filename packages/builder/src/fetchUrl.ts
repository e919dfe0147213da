import { createWriteStream } from "node:fs";
import { utimes } from "node:fs/promises";
import { join, posix } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { InvalidArgument, ResourceExhausted, Unavailable } from "@berth/errdefs";
import { Digester } from "@berth/oci";

/** MAX_ADD_URL_BYTES bounds one `ADD <url>` download (a hostile server could stream forever). */
export const MAX_ADD_URL_BYTES = 8 * 1024 ** 3;

/** FetchedUrl is a downloaded `ADD` source. */
export interface FetchedUrl {
  /** File name, from the URL path (`__unnamed__` when the path has none). */
  readonly name: string;
  /** Where it was saved (`<dir>/<name>`, mode 0600, mtime from Last-Modified). */
  readonly path: string;
  /** sha256 of the content. */
  readonly digest: string;
}

/** isGitUrl tells whether an ADD source names a git repository (as BuildKit detects one). */
export function isGitUrl(s: string): boolean {
  return /^git@|^git:\/\/|^(https?|ssh):\/\/[^#]*\.git(#.*)?$/.test(s);
}

/** isHttpUrl tells whether an ADD source is an http(s) URL. */
export function isHttpUrl(s: string): boolean {
  return /^https?:\/\//.test(s);
}

/** urlFileName is the name docker gives a downloaded file: the last segment of the URL path. */
export function urlFileName(url: string): string {
  const base = posix.basename(new URL(url).pathname);
  return base === "" || base === "/" || base === "." || base === ".."
    ? "__unnamed__"
    : decodeURIComponent(base);
}

/**
 * fetchUrl downloads an `ADD <url>` source into `dir`, as docker does: not extracted, mode 0600,
 * the Last-Modified header as its mtime, and, with `checksum` (`sha256:<hex>`), verified against
 * it (a mismatch fails the step). Redirects are followed; a non-2xx answer fails.
 */
export async function fetchUrl(
  url: string,
  dir: string,
  opts: { readonly checksum?: string; readonly signal?: AbortSignal } = {},
): Promise<FetchedUrl> {
  if (opts.checksum !== undefined && !/^sha256:[0-9a-f]{64}$/.test(opts.checksum))
    throw new InvalidArgument(
      `invalid checksum ${JSON.stringify(opts.checksum)}: expected sha256: and 64 lower-case hex digits`,
    );
  let name = urlFileName(url);
  if (name.includes("/")) name = "__unnamed__";
  let res: Response;
  try {
    res = await fetch(url, {
      redirect: "follow",
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
  } catch (err) {
    throw new Unavailable(`failed to GET ${url}: ${(err as Error).message}`, { cause: err });
  }
  if (!res.ok || res.body === null)
    throw new Unavailable(`failed to GET ${url} with status ${res.status} ${res.statusText}`);
  const path = join(dir, name);
  const d = new Digester();
  let size = 0;
  const body = Readable.fromWeb(res.body as import("node:stream/web").ReadableStream<Uint8Array>);
  await pipeline(
    body,
    async function* (src: AsyncIterable<Buffer>) {
      for await (const chunk of src) {
        size += chunk.length;
        if (size > MAX_ADD_URL_BYTES)
          throw new ResourceExhausted(`${url} is larger than the limit of ${MAX_ADD_URL_BYTES} bytes`);
        d.update(chunk);
        yield chunk;
      }
    },
    createWriteStream(path, { mode: 0o600 }),
  );
  const digest = d.digest();
  if (opts.checksum !== undefined && digest !== opts.checksum)
    throw new InvalidArgument(`digest mismatch ${opts.checksum}: ${digest}`, { code: "ERR_BUILD_CHECKSUM" });
  const lm = res.headers.get("last-modified");
  const mtime = lm === null ? Number.NaN : Date.parse(lm);
  if (Number.isFinite(mtime)) await utimes(path, new Date(mtime), new Date(mtime));
  return { name, path, digest };
}
