import type { Engine } from "@berth/engine";
import { InvalidArgument, isBerthError } from "@berth/errdefs";
import { bool, readJSON, resOf, sendJSON } from "../http.ts";
import type { Router } from "../Router.ts";
import { entriesOf, readListingHead } from "../readListingHead.ts";

/** jsonObject reads a query parameter holding a JSON object of strings (`buildargs`, `labels`). */
function jsonObject(q: URLSearchParams, key: string): Record<string, string> | undefined {
  const raw = q.get(key);
  if (raw === null || raw === "") return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new InvalidArgument(
      `invalid ${key}: expected a JSON object, found ${JSON.stringify(raw.slice(0, 60))}`,
    );
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new InvalidArgument(`invalid ${key}: expected a JSON object`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) if (typeof val === "string") out[k] = val;
  return out;
}

/** networkModeOf maps docker's `networkmode` query parameter to the builder's RUN network. */
function networkModeOf(v: string): "default" | "none" | "host" | undefined {
  if (v === "" || v === "default" || v === "bridge") return v === "" ? undefined : "default";
  if (v === "host" || v === "none") return v;
  throw new InvalidArgument(
    `invalid networkmode ${JSON.stringify(v)}: expected default, bridge, host or none`,
  );
}

/** secretsOf decodes the `secrets` query parameter (id -> base64 content); never echoes a value. */
function secretsOf(raw: string | null): Record<string, Buffer> | undefined {
  if (raw === null || raw === "") return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new InvalidArgument("invalid secrets: expected a JSON object of id to base64 content");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new InvalidArgument("invalid secrets: expected a JSON object of id to base64 content");
  const out: Record<string, Buffer> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== "string") throw new InvalidArgument(`invalid secret ${k}: expected base64 content`);
    out[k] = Buffer.from(val, "base64");
  }
  return out;
}

/**
 * buildRoutes: `POST /build` as docker's classic builder answers it: the body is the context tar,
 * the answer JSON lines (`stream`, `aux` with the image ID, `errorDetail` on failure).
 */
export function buildRoutes(router: Router, engine: Engine): void {
  // Berth's incremental context, step one: `{key, entries: [[path, sig], ...]}` -> `{missing}`.
  router.add("POST", "/build/context", async (ctx) => {
    const body = await readJSON<{ key?: unknown; entries?: unknown }>(ctx.req);
    if (typeof body?.key !== "string") throw new InvalidArgument("expected a context key");
    const missing = await engine.builds.contextMissing(body.key, entriesOf(body.entries));
    sendJSON(ctx, 200, { missing });
  });
  router.add("POST", "/build", async (ctx) => {
    const q = ctx.query;
    const remote = q.get("remote");
    if (remote)
      throw new InvalidArgument(
        `building from a remote context (${remote}) is not supported yet: send the context as a tar`,
      );
    const quiet = bool(q, "q");
    const buildArgs = jsonObject(q, "buildargs");
    const labels = jsonObject(q, "labels");
    const target = q.get("target") ?? "";
    const dockerfile = q.get("dockerfile") ?? "";
    // Berth's own parameter: layer compression, `gzip` (default) or `zstd`.
    const compression = q.get("compression") ?? "";
    if (compression !== "" && compression !== "gzip" && compression !== "zstd")
      throw new InvalidArgument(`invalid compression ${JSON.stringify(compression)}: expected gzip or zstd`);
    // docker's `networkmode` (`default`, `bridge`, `host`, `none`) for RUN steps without --network.
    const networkMode = networkModeOf(q.get("networkmode") ?? "");
    // Berth's own parameter: `secrets`, a JSON object of secret id -> base64 content, for
    // `RUN --mount=type=secret` (the classic API has no session to ask the client for them).
    const secrets = secretsOf(q.get("secrets"));
    const ac = new AbortController();
    const res = resOf(ctx);
    let started = false;
    const send = (msg: object) => {
      if (!started) {
        res.writeHead(200, { "Content-Type": "application/json" });
        started = true;
      }
      res.write(`${JSON.stringify(msg)}\r\n`);
    };
    res.on("close", () => {
      if (!res.writableFinished) ac.abort();
    });
    try {
      // Berth's incremental context, step two: the listing, a newline, a tar of the missing paths.
      const syncKey = q.get("berthcontext");
      const sync = syncKey ? { key: syncKey, ...(await readListingHead(ctx.req)) } : undefined;
      const opts: Parameters<Engine["builds"]["buildSynced"]>[1] = {
        ...(dockerfile ? { dockerfile } : {}),
        tags: q.getAll("t").filter((t) => t !== ""),
        ...(buildArgs ? { buildArgs } : {}),
        ...(labels ? { labels } : {}),
        ...(target ? { target } : {}),
        noCache: bool(q, "nocache"),
        ...(networkMode === undefined ? {} : { networkMode }),
        ...(secrets === undefined ? {} : { secrets }),
        ...(compression === "" ? {} : { compression: compression as "gzip" | "zstd" }),
        signal: ac.signal,
      };
      const onProgress: Parameters<Engine["builds"]["build"]>[1] = (e) => {
        if (quiet) return;
        if (e.kind === "result" && e.stream.startsWith("Successfully built")) send({ aux: { ID: e.id } });
        if (e.stream !== "") send({ stream: e.stream });
      };
      const result =
        sync === undefined
          ? await engine.builds.build({ contextTar: ctx.req, ...opts }, onProgress)
          : await engine.builds.buildSynced(sync, opts, onProgress);
      if (quiet) send({ stream: `${result.imageId}\n` });
      res.end();
    } catch (err) {
      // Before any output, a plain error answer; once streaming, docker's errorDetail line.
      if (!started && isBerthError(err) && err._tag !== "FailedPrecondition") throw err;
      const message = (err as Error).message;
      const code = (err as { runExitCode?: number }).runExitCode;
      send({ errorDetail: { ...(code !== undefined ? { code } : {}), message }, error: message });
      res.end();
    }
  });
}
