import { randomBytes } from "node:crypto";
import { mkdir, open, rm } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { applyLayer, resolveInRoot } from "@berth/archive";
import { type Command, DockerIgnore, Lex, parse, parseInstructions, parseStages } from "@berth/dockerfile";
import { errnoCode, InvalidArgument, NotFound, ResourceExhausted } from "@berth/errdefs";
import { currentPlatform, type Manifest, OCI_CONFIG, OCI_MANIFEST } from "@berth/oci";
import { BuildCache } from "./BuildCache.ts";
import { SourceTree } from "./SourceTree.ts";
import { imageStateOf, StageBuilder, shortId } from "./StageBuilder.ts";
import type { BuildDeps, BuildOptions, BuildProgress, BuildResult, ImageState } from "./types.ts";

/** MAX_DOCKERFILE_BYTES bounds the Dockerfile and .dockerignore reads. */
export const MAX_DOCKERFILE_BYTES = 4 * 1024 * 1024;

/**
 * build executes a Dockerfile like `docker build` (classic builder semantics): meta ARGs and
 * FROM (a local image by name or ID, an earlier stage, or `scratch`), every stage up to
 * `target` in order, each instruction as a cached step, then the final image's manifest and
 * config added to the image store under `tags`. Progress events carry docker's classic output
 * lines (`Step 1/5 : FROM busybox`, ` ---> Using cache`, RUN output).
 *
 * A failed step rejects (RUN exit codes as {@link RunFailedError}); no image is added and no
 * mount or runtime state is left behind. Layers and cache entries of the steps that did complete
 * stay, so the next build resumes from them.
 */
export async function build(
  opts: BuildOptions,
  deps: BuildDeps,
  onProgress: (e: BuildProgress) => void = () => {},
): Promise<BuildResult> {
  if ((opts.contextDir === undefined) === (opts.contextTar === undefined)) {
    throw new InvalidArgument("expected exactly one of contextDir and contextTar");
  }
  await mkdir(deps.workDir, { recursive: true, mode: 0o700 });
  let tmpContext: string | undefined;
  try {
    let contextDir = opts.contextDir;
    if (contextDir === undefined) {
      tmpContext = join(deps.workDir, `ctx-${randomBytes(6).toString("hex")}`);
      await mkdir(tmpContext, { mode: 0o700 });
      const input = opts.contextTar as NodeJS.ReadableStream;
      const readable = input instanceof Readable ? input : Readable.from(input as AsyncIterable<Buffer>);
      await applyLayer(tmpContext, readable, { whiteouts: "none", sameOwner: false });
      contextDir = tmpContext;
    }
    return await buildInContext(contextDir, opts, deps, onProgress);
  } finally {
    if (tmpContext !== undefined) await rm(tmpContext, { recursive: true, force: true });
  }
}

async function readInContext(root: string, rel: string): Promise<string | undefined> {
  // D3: the Dockerfile (and .dockerignore) are resolved inside the context, links included.
  const path = await resolveInRoot(root, rel);
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, "r");
  } catch (err) {
    if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") return undefined;
    throw err;
  }
  try {
    const st = await fh.stat();
    if (st.size > MAX_DOCKERFILE_BYTES) {
      throw new ResourceExhausted(`${rel} is ${st.size} bytes, over the limit of ${MAX_DOCKERFILE_BYTES}`);
    }
    return await fh.readFile("utf8");
  } finally {
    await fh.close();
  }
}

async function buildInContext(
  contextDir: string,
  opts: BuildOptions,
  deps: BuildDeps,
  onProgress: (e: BuildProgress) => void,
): Promise<BuildResult> {
  const dockerfileName = opts.dockerfile ?? "Dockerfile";
  const text = opts.dockerfileText ?? (await readInContext(contextDir, dockerfileName));
  if (text === undefined) {
    throw new NotFound(`Cannot locate specified Dockerfile: ${dockerfileName}`, {
      code: "ERR_BUILD_NO_DOCKERFILE",
    });
  }
  const ignoreText = await readInContext(contextDir, ".dockerignore");
  const ignore = ignoreText === undefined ? undefined : DockerIgnore.parse(ignoreText);
  const result = parse(text, { file: dockerfileName });
  const { metaArgs, stages } = parseStages(result);
  if (stages.length === 0) throw new InvalidArgument("the Dockerfile has no FROM instruction");
  const lex = new Lex({ escapeToken: result.escapeToken });

  let targetIndex = stages.length - 1;
  if (opts.target !== undefined && opts.target !== "") {
    const t = opts.target.toLowerCase();
    const i = stages.findIndex((s) => s.name === t);
    if (i < 0) throw new NotFound(`failed to reach build target ${opts.target} in Dockerfile`);
    targetIndex = i;
  }

  const buildArgs = new Map<string, string>();
  for (const [k, v] of Object.entries(opts.buildArgs ?? {})) if (v !== undefined) buildArgs.set(k, v);
  const consumed = new Set<string>();
  const total =
    metaArgs.length + stages.slice(0, targetIndex + 1).reduce((n, s) => n + 1 + s.commands.length, 0);
  let step = 0;
  const stepLine = (original: string) => {
    step++;
    onProgress({ kind: "step", step, total, stream: `Step ${step}/${total} : ${original.trim()}\n` });
  };

  const meta = new Map<string, string | undefined>();
  for (const a of metaArgs) {
    stepLine(a.original);
    for (const def of a.args) {
      const cli = buildArgs.get(def.key);
      if (buildArgs.has(def.key)) consumed.add(def.key);
      const env = new Map([...meta].filter((e): e is [string, string] => e[1] !== undefined));
      meta.set(def.key, cli ?? (def.value === undefined ? undefined : lex.processWord(def.value, env)));
    }
  }
  const metaEnv = new Map([...meta].filter((e): e is [string, string] => e[1] !== undefined));

  const cache = deps.cache ?? (await BuildCache.open(deps.root, deps.content));
  const context = await SourceTree.open(contextDir, ignore);
  const done = new Map<string, ImageState>();
  const counters = { executed: 0, cached: 0 };
  let final: ImageState | undefined;

  for (const stage of stages.slice(0, targetIndex + 1)) {
    stepLine(stage.from.original);
    const baseName = lex.processWord(stage.baseImage, metaEnv);
    let base: ImageState;
    // The ID docker prints under FROM: the local image's own ID when the base is an image.
    let baseId: string | undefined;
    let triggers: string[] = [];
    if (baseName.toLowerCase() === "scratch") {
      const p = currentPlatform();
      base = {
        config: {
          architecture: p.architecture,
          os: p.os,
          ...(p.variant === undefined ? {} : { variant: p.variant }),
          config: {},
          rootfs: { type: "layers", diff_ids: [] },
          history: [],
        },
        layers: [],
      };
    } else if (done.has(baseName.toLowerCase())) {
      base = done.get(baseName.toLowerCase())!;
    } else {
      const rec = deps.images.resolve(baseName);
      baseId = rec.id.slice(7, 19);
      base = imageStateOf(rec);
      triggers = rec.config.config?.OnBuild ?? [];
      if (triggers.length > 0) {
        // The child consumes the triggers: they are run below and not inherited.
        base = { ...base, config: { ...base.config, config: { ...base.config.config, OnBuild: null } } };
      }
    }
    onProgress({ kind: "cached", stream: ` ---> ${baseId ?? shortId(base)}\n` });
    const sb = new StageBuilder(base, {
      deps,
      cache,
      noCache: opts.noCache === true,
      lex,
      context,
      buildArgs,
      metaArgs: meta,
      consumed,
      stages: done,
      progress: onProgress,
      counters,
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
    const commands: Command[] = [];
    if (triggers.length > 0) {
      onProgress({
        kind: "step",
        step,
        total,
        stream: `# Executing ${triggers.length} build trigger${triggers.length === 1 ? "" : "s"}\n`,
      });
      for (const t of triggers) {
        for (const inst of parseInstructions(parse(t, { file: "ONBUILD" }))) {
          if (inst.kind === "FROM") throw new InvalidArgument("FROM isn't allowed as an ONBUILD trigger");
          commands.push(inst);
        }
      }
    }
    for (const c of commands) await sb.dispatch(c);
    for (const c of stage.commands) {
      stepLine(c.original);
      await sb.dispatch(c);
    }
    done.set(String(stage.index), sb.state);
    if (stage.name !== undefined) done.set(stage.name, sb.state);
    final = sb.state;
  }

  const unused = [...buildArgs.keys()].filter((k) => !consumed.has(k) && !PREDEFINED_ARGS.has(k));
  if (unused.length > 0) {
    onProgress({
      kind: "warning",
      stream: `[Warning] One or more build-args [${unused.join(" ")}] were not consumed\n`,
    });
  }

  const state = final!;
  const config = structuredClone(state.config);
  if (opts.labels !== undefined && Object.keys(opts.labels).length > 0) {
    config.config = { ...config.config, Labels: { ...(config.config?.Labels ?? {}), ...opts.labels } };
  }
  const configBytes = Buffer.from(JSON.stringify(config));
  const cinfo = await deps.content.put(configBytes);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: cinfo.digest, size: cinfo.size },
    layers: state.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const sizes = state.layers.map((l) => l.unpackedSize);
  const rec = await deps.images.addImage({
    manifest,
    config: configBytes,
    names: opts.tags ?? [],
    ...(sizes.every((s) => s >= 0) ? { layerSizes: sizes } : {}),
  });
  onProgress({ kind: "result", id: rec.id, stream: `Successfully built ${rec.id.slice(7, 19)}\n` });
  for (const t of opts.tags ?? [])
    onProgress({ kind: "result", id: rec.id, stream: `Successfully tagged ${t}\n` });
  return { imageId: rec.id, tags: rec.repoTags, steps: counters };
}

/** Build args docker accepts without an ARG (proxy settings); never reported as unused. */
const PREDEFINED_ARGS = new Set([
  "HTTP_PROXY",
  "http_proxy",
  "HTTPS_PROXY",
  "https_proxy",
  "FTP_PROXY",
  "ftp_proxy",
  "NO_PROXY",
  "no_proxy",
  "ALL_PROXY",
  "all_proxy",
]);
