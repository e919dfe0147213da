import { randomBytes } from "node:crypto";
import { mkdir, open, rm } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { measureTar, resolveInRoot } from "@berth/archive";
import { type Command, DockerIgnore, Lex, parse, parseInstructions, parseStages } from "@berth/dockerfile";
import { errnoCode, InvalidArgument, NotFound, ResourceExhausted } from "@berth/errdefs";
import { spreadSubdirs } from "@berth/image";
import { currentPlatform, type Manifest, OCI_CONFIG, OCI_MANIFEST } from "@berth/oci";
import { BuildCache } from "./BuildCache.ts";
import { extractContext } from "./extractContext.ts";
import { FileDigests } from "./FileDigests.ts";
import { OrderedProgress } from "./OrderedProgress.ts";
import { Semaphore } from "./Semaphore.ts";
import { SourceTree } from "./SourceTree.ts";
import { imageStateOf, StageBuilder, shortId } from "./StageBuilder.ts";
import { planStages, type StagePlan } from "./stageGraph.ts";
import { warmStoreWorker } from "./storeWorkers.ts";
import type { BuildDeps, BuildOptions, BuildProgress, BuildResult, ImageState } from "./types.ts";

/** MAX_DOCKERFILE_BYTES bounds the Dockerfile and .dockerignore reads. */
export const MAX_DOCKERFILE_BYTES = 4 * 1024 * 1024;

/** Work directories already marked by spreadSubdirs in this process. */
const spread = new Set<string>();

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
  // Extracted contexts and step scratch are trees made and removed whole (see spreadSubdirs).
  if (!spread.has(deps.workDir)) {
    spread.add(deps.workDir);
    await spreadSubdirs(deps.workDir);
  }
  // The thread that stores layers in the background starts while the context arrives.
  warmStoreWorker();
  let tmpContext: string | undefined;
  try {
    let contextDir = opts.contextDir;
    let built = opts;
    if (contextDir === undefined) {
      tmpContext = join(deps.workDir, `ctx-${randomBytes(6).toString("hex")}`);
      await mkdir(tmpContext, { mode: 0o700 });
      const input = opts.contextTar as NodeJS.ReadableStream;
      const readable = input instanceof Readable ? input : Readable.from(input as AsyncIterable<Buffer>);
      // The extracted files' digests, taken while they are written, serve the COPY sources.
      const fileDigests = await FileDigests.open(tmpContext);
      await extractContext(tmpContext, readable, fileDigests, opts.signal);
      contextDir = tmpContext;
      built = { ...opts, fileDigests, ownContext: true };
    }
    return await buildInContext(contextDir, built, deps, onProgress);
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

  const meta = new Map<string, string | undefined>();
  const metaSteps: Array<{ original: string }> = [];
  for (const a of metaArgs) {
    metaSteps.push(a);
    for (const def of a.args) {
      const cli = buildArgs.get(def.key);
      if (buildArgs.has(def.key)) consumed.add(def.key);
      const env = new Map([...meta].filter((e): e is [string, string] => e[1] !== undefined));
      meta.set(def.key, cli ?? (def.value === undefined ? undefined : lex.processWord(def.value, env)));
    }
  }
  const metaEnv = new Map([...meta].filter((e): e is [string, string] => e[1] !== undefined));
  const baseNames = stages.map((s) => lex.processWord(s.baseImage, metaEnv));
  const plan = planStages(stages, baseNames, targetIndex);

  // Step numbers are fixed up front (meta ARGs, then the planned stages in Dockerfile order), so
  // concurrent stages print the numbers a sequential build would.
  const total = metaArgs.length + plan.reduce((n, p) => n + 1 + p.stage.commands.length, 0);
  for (const [i, a] of metaSteps.entries()) {
    onProgress({
      kind: "step",
      step: i + 1,
      total,
      stream: `Step ${i + 1}/${total} : ${a.original.trim()}\n`,
    });
  }
  const firstStep: number[] = [];
  plan.reduce((n, p, k) => {
    firstStep[k] = n + 1;
    return n + 1 + p.stage.commands.length;
  }, metaArgs.length);

  const cache0 = deps.cache ?? (await BuildCache.open(deps.root, deps.content));
  const cache = opts.compression === "zstd" ? cache0.scoped("zstd") : cache0;
  const stageDeps: BuildDeps =
    opts.compression === undefined ? deps : { ...deps, layerCompression: opts.compression };
  const context = await SourceTree.open(contextDir, ignore, opts.fileDigests);
  const done = new Map<string, ImageState>();
  const counters = { executed: 0, cached: 0 };
  const ordered = new OrderedProgress(plan.length, onProgress);
  const abort = new AbortController();
  const signal = opts.signal === undefined ? abort.signal : AbortSignal.any([opts.signal, abort.signal]);

  const runStage = async (k: number): Promise<ImageState> => {
    const { stage } = plan[k] as StagePlan;
    const emit = ordered.emitter(k);
    let step = (firstStep[k] as number) - 1;
    const stepLine = (original: string) => {
      step++;
      emit({ kind: "step", step, total, stream: `Step ${step}/${total} : ${original.trim()}\n` });
    };
    stepLine(stage.from.original);
    const baseName = baseNames[stage.index] as string;
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
    } else if (plan[k]?.fromStage !== undefined) {
      base = done.get(String(plan[k]?.fromStage)) as ImageState;
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
    if (stage.commands.length > 0 || triggers.length > 0) base = beginStage(base);
    emit({ kind: "cached", stream: ` ---> ${baseId ?? shortId(base)}\n` });
    const sb = new StageBuilder(base, {
      deps: stageDeps,
      cache,
      noCache: opts.noCache === true,
      lex,
      context,
      ownContext: opts.ownContext === true,
      buildArgs,
      metaArgs: meta,
      consumed,
      stages: done,
      progress: emit,
      counters,
      signal,
      ...(opts.secrets === undefined ? {} : { secrets: opts.secrets }),
      ...(opts.networkMode === undefined ? {} : { networkMode: opts.networkMode }),
    });
    const commands: Command[] = [];
    if (triggers.length > 0) {
      emit({
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
    try {
      for (const c of commands) await sb.dispatch(c);
      for (const c of stage.commands) {
        if (signal.aborted) throw signal.reason;
        stepLine(c.original);
        await sb.dispatch(c);
      }
    } catch (err) {
      // Layers still being stored in the background end before the failure is reported.
      await sb.settle();
      throw err;
    }
    return sb.finish();
  };

  // Independent stages run concurrently (bounded by the CPU count), each as soon as the stages it
  // reads are done; the first failure cancels the others.
  const limit = new Semaphore(Math.max(1, availableParallelism()));
  const running = new Map<number, Promise<ImageState>>();
  let failed: { k: number; err: unknown } | undefined;
  plan.forEach((p, k) => {
    const depPromises = p.deps.map((d) => running.get(d) as Promise<ImageState>);
    running.set(
      k,
      (async () => {
        await Promise.all(depPromises);
        return limit.run(async () => {
          if (signal.aborted) throw signal.reason;
          try {
            const state = await runStage(k);
            done.set(String(p.stage.index), state);
            if (p.stage.name !== undefined) done.set(p.stage.name, state);
            ordered.close(k);
            return state;
          } catch (err) {
            if (failed === undefined) {
              failed = { k, err };
              abort.abort(err);
            }
            throw err;
          }
        });
      })(),
    );
    // Dependents observe the rejection; this keeps it from being reported as unhandled.
    running.get(k)?.catch(() => {});
  });
  const settled = await Promise.allSettled(running.values());
  if (failed !== undefined) {
    ordered.flushThrough(failed.k);
    throw failed.err;
  }
  const last = settled[settled.length - 1];
  if (last?.status !== "fulfilled") throw (last as PromiseRejectedResult | undefined)?.reason;
  const final: ImageState = last.value;

  const unused = [...buildArgs.keys()].filter((k) => !consumed.has(k) && !PREDEFINED_ARGS.has(k));
  if (unused.length > 0) {
    onProgress({
      kind: "warning",
      stream: `[Warning] One or more build-args [${unused.join(" ")}] were not consumed\n`,
    });
  }

  const state = final;
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
  // Sizes of base image layers are measured once and remembered (addImage would otherwise
  // decompress every layer of the image when one size is missing).
  const sizes = await Promise.all(
    state.layers.map((l) =>
      l.unpackedSize >= 0
        ? l.unpackedSize
        : cache.layerSize(
            l.digest,
            async () => (await measureTar(await deps.content.readStream(l.digest))).bytes,
          ),
    ),
  );
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

/** DEFAULT_PATH_ENV is the PATH docker's builder gives a stage whose base image sets none. */
export const DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * beginStage is docker's classic builder dispatchState.beginStage on the starting config of a
 * stage that runs instructions: an Env without PATH gets {@link DEFAULT_PATH_ENV} (so `ENV
 * PATH=/x:$PATH` expands to the default, and the image records it; BuildKit does the same), and
 * the author is not inherited (MAINTAINER applies to its own stage only).
 */
function beginStage(state: ImageState): ImageState {
  const env = state.config.config?.Env ?? [];
  const { author: _author, ...config } = state.config;
  if (env.some((e) => e.startsWith("PATH="))) return { ...state, config };
  return { ...state, config: { ...config, config: { ...config.config, Env: [...env, DEFAULT_PATH_ENV] } } };
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
