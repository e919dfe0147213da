/**
 * `berth build`: sends the context (minus `.dockerignore`d files) as a tar to `POST /build` and
 * prints the classic builder's progress lines, as `DOCKER_BUILDKIT=0 docker build` does.
 *
 * @since 0.1.0
 */
import { statSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";
import { decodeJSONLines, type JSONMessage } from "@berth/api";
import { BuildDisplay, resolveProgressMode } from "../BuildDisplay.ts";
import { contextTar } from "../buildContext.ts";
import { readBuildSecrets } from "../buildSecrets.ts";
import { type CommandModule, StatusError } from "../Command.ts";
import { bool, list, str } from "../FlagParser.ts";
import { contextListing, syncedContextBody } from "../syncedContext.ts";

function keyValues(values: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf("=");
    if (eq === 0) throw new StatusError(`invalid ${what} "${v}": the name is empty`, 125);
    if (eq < 0) {
      // docker takes `--build-arg NAME` from the environment, and drops it when unset
      if (what === "build-arg" && process.env[v] !== undefined) out[v] = process.env[v] as string;
      else if (what === "label") out[v] = "";
      continue;
    }
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

type BuildClient = Awaited<ReturnType<Parameters<CommandModule["run"]>[0]["client"]>>;
type Query = Record<string, string | boolean | undefined>;

/**
 * sendContext starts `POST /build`. Against berthd it sends the context incrementally (Berth's
 * extension: the listing, then only the paths the daemon's kept copy lacks; a concurrent change
 * of the copy is retried once); a daemon without the extension (404) gets the whole tar.
 */
async function sendContext(
  client: BuildClient,
  dir: string,
  dockerfile: string,
  query: Query,
  quiet: boolean,
) {
  if (process.env.BERTH_BUILD_FULL_CONTEXT !== "1") {
    const listing = await contextListing(dir, dockerfile);
    for (let attempt = 0; attempt < 2; attempt++) {
      const body = { key: listing.key, entries: listing.entries };
      const probe = await client.request("POST", "/build/context", { body, throwOnError: false });
      if (probe.status === 404 || probe.status === 405) break;
      // Any other failure: asked again so the client raises the daemon's error as its kind.
      const answer = probe.status >= 400 ? await client.request("POST", "/build/context", { body }) : probe;
      const { missing } = JSON.parse(answer.body.toString("utf8")) as { missing: string[] };
      if (!quiet)
        process.stderr.write(
          `Sending build context to Berth daemon  (${listing.entries.length} entries, ${missing.length} changed)\n\n`,
        );
      try {
        return await client.requestStream("POST", "/build", {
          query: { ...query, berthcontext: listing.key },
          body: syncedContextBody(dir, listing, missing),
          headers: { "Content-Type": "application/x-berth-context" },
        });
      } catch (err) {
        if ((err as { _tag?: string })._tag !== "Conflict" || attempt === 1) throw err;
      }
    }
  }
  const { stream, count } = await contextTar(dir, dockerfile);
  if (!quiet) process.stderr.write(`Sending build context to Berth daemon  (${count} entries)\n\n`);
  return client.requestStream("POST", "/build", {
    query,
    body: stream,
    headers: { "Content-Type": "application/x-tar" },
  });
}

/** command is `berth build`. */
export const command: CommandModule = {
  spec: {
    name: "build",
    use: "[OPTIONS] PATH",
    short: "Build an image from a Dockerfile",
    aliases: ["image build", "build"],
    flags: [
      { name: "tag", short: "t", type: "list", usage: 'Name and optionally a tag in the "name:tag" format' },
      {
        name: "file",
        short: "f",
        type: "string",
        usage: 'Name of the Dockerfile (default: "PATH/Dockerfile")',
      },
      { name: "build-arg", type: "list", usage: "Set build-time variables" },
      { name: "target", type: "string", usage: "Set the target build stage to build" },
      { name: "no-cache", type: "bool", usage: "Do not use cache when building the image" },
      {
        name: "quiet",
        short: "q",
        type: "bool",
        usage: "Suppress the build output and print image ID on success",
      },
      { name: "label", type: "list", usage: "Set metadata for an image" },
      { name: "progress", type: "string", usage: "Set type of progress output (auto, plain, tty)" },
      {
        name: "compression",
        type: "string",
        usage: 'Layer compression: "gzip" (default) or "zstd"',
      },
      {
        name: "rm",
        type: "bool",
        usage: "Remove intermediate containers after a successful build (default true)",
      },
      { name: "force-rm", type: "bool", usage: "Always remove intermediate containers" },
      {
        name: "secret",
        type: "list",
        usage: 'Secret to expose to the build (format: "id=mysecret[,src=/local/secret]" or "id=x,env=VAR")',
      },
      {
        name: "network",
        type: "string",
        usage: "Set the networking mode for the RUN instructions during build",
      },
    ],
    args: { kind: "exact", n: 1 },
  },
  async run(inv) {
    const p = inv.parsed;
    const dir = resolve(p.args[0] as string);
    if (/^(https?|git):\/\//.test(p.args[0] as string)) {
      throw new StatusError(
        "building from a URL is not supported by berth yet: clone or download it first",
        1,
      );
    }
    try {
      if (!statSync(dir).isDirectory()) throw new Error("not a directory");
    } catch {
      throw new StatusError(`unable to prepare context: path "${p.args[0]}" not found`, 1);
    }
    const file = str(p, "file");
    let dockerfile = "Dockerfile";
    if (file !== undefined) {
      const abs = isAbsolute(file) ? file : resolve(file);
      dockerfile = relative(dir, abs).split("\\").join("/");
      if (dockerfile.startsWith("../")) {
        throw new StatusError(`the Dockerfile (${file}) must be within the build context (${p.args[0]})`, 1);
      }
    }
    const progress = str(p, "progress") ?? "auto";
    if (!["auto", "plain", "tty"].includes(progress)) {
      throw new StatusError(
        `invalid argument "${progress}" for "--progress" flag: expected auto, plain or tty`,
        125,
      );
    }
    const compression = str(p, "compression");
    if (compression !== undefined && compression !== "gzip" && compression !== "zstd") {
      throw new StatusError(
        `invalid argument "${compression}" for "--compression" flag: expected gzip or zstd`,
        125,
      );
    }
    const quiet = bool(p, "quiet");
    const buildArgs = keyValues(list(p, "build-arg"), "build-arg");
    const labels = keyValues(list(p, "label"), "label");
    const secrets = readBuildSecrets(list(p, "secret"));
    const network = str(p, "network");
    const client = await inv.client();
    const query: Record<string, string | boolean | undefined> = {
      dockerfile,
      buildargs: JSON.stringify(buildArgs),
      labels: JSON.stringify(labels),
      q: quiet,
      nocache: bool(p, "no-cache"),
      rm: true,
      forcerm: bool(p, "force-rm"),
      version: "1",
      ...(compression === undefined ? {} : { compression }),
      ...(network === undefined ? {} : { networkmode: network }),
      ...(secrets === undefined ? {} : { secrets }),
      ...(str(p, "target") ? { target: str(p, "target") } : {}),
    };
    const tags = list(p, "tag");
    // Repeated `t` parameters: the client encodes arrays as repeated keys.
    const fullQuery = { ...query, ...(tags.length > 0 ? { t: tags as unknown as string } : {}) };
    const res = await sendContext(client, dir, dockerfile, fullQuery, quiet);
    let failed: JSONMessage | undefined;
    // -q: the daemon sends only the image ID, printed as it comes.
    const mode = quiet ? "plain" : resolveProgressMode(progress, process.stderr);
    const display = new BuildDisplay(mode, mode === "tty" ? process.stderr : process.stdout);
    for await (const msg of decodeJSONLines(res)) {
      if (msg.errorDetail || msg.error) {
        failed = msg;
        break;
      }
      if (msg.stream !== undefined) display.text(msg.stream);
    }
    display.end(failed === undefined);
    if (failed) {
      const code = failed.errorDetail?.code;
      throw new StatusError(
        failed.errorDetail?.message ?? failed.error ?? "build failed",
        code && code > 0 ? code : 1,
      );
    }
    return 0;
  },
};
