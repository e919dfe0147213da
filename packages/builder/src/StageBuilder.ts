import { randomBytes } from "node:crypto";
import { lstat } from "node:fs/promises";
import { join, posix } from "node:path";
import { Readable } from "node:stream";
import { applyLayer, resolveInRoot } from "@berth/archive";
import type { AddInstruction, Command, CopyInstruction, Lex } from "@berth/dockerfile";
import { FailedPrecondition, InvalidArgument, NotImplemented } from "@berth/errdefs";
import { type ImageConfig, type ImageSpec, sha256 } from "@berth/oci";
import { resolveUser } from "@berth/runtime";
import * as tar from "tar-stream";
import { type BuildCache, cacheKey, stateId } from "./BuildCache.ts";
import { commitLayer } from "./commitLayer.ts";
import { copyInto } from "./copyInto.ts";
import { goList, goQuoteList, nopCreatedBy, runCreatedBy } from "./createdBy.ts";
import { runInContainer } from "./runInContainer.ts";
import { hashSources, type MatchedSource, SourceTree } from "./SourceTree.ts";

type ContainerConfig = ImageSpec.ContainerConfig;

import type { BuildDeps, BuildProgress, ImageState } from "./types.ts";

/** RunFailedError is a RUN whose command exited non-zero; `runExitCode` is that code. */
export class RunFailedError extends FailedPrecondition {
  readonly runExitCode: number;
  constructor(command: string, exitCode: number) {
    super(`The command '${command}' returned a non-zero code: ${exitCode}`, { code: "ERR_BUILD_RUN_FAILED" });
    this.runExitCode = exitCode;
  }
}

/** What a stage needs from the whole build. */
export interface StageEnv {
  readonly deps: BuildDeps;
  readonly cache: BuildCache;
  readonly noCache: boolean;
  readonly lex: Lex;
  readonly context: SourceTree;
  readonly buildArgs: ReadonlyMap<string, string>;
  /** Meta ARGs (before the first FROM) with their values, for `ARG name` without default. */
  readonly metaArgs: ReadonlyMap<string, string | undefined>;
  /** Build args some ARG declared, to warn about the rest. */
  readonly consumed: Set<string>;
  /** Earlier stages by name and by index, for `COPY --from`. */
  readonly stages: ReadonlyMap<string, ImageState>;
  readonly progress: (e: BuildProgress) => void;
  readonly counters: { executed: number; cached: number };
  readonly signal?: AbortSignal;
}

const DEFAULT_SHELL = ["/bin/sh", "-c"];
const PORT = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i;

/**
 * StageBuilder executes one stage's commands on an {@link ImageState}. Config-only instructions
 * change the config and add an `empty_layer` history entry; COPY, ADD and RUN (and WORKDIR when it
 * has to create the directory) run on an overlay snapshot of the current image whose upper dir
 * becomes the step's layer. Every step is looked up in, and recorded to, the build cache first.
 */
export class StageBuilder {
  state: ImageState;
  readonly #env: StageEnv;
  readonly #args = new Map<string, string | undefined>();
  #cmdSet = false;

  constructor(base: ImageState, env: StageEnv) {
    this.state = base;
    this.#env = env;
  }

  get #config(): ContainerConfig {
    return this.state.config.config ?? {};
  }

  get #shell(): string[] {
    return this.#config.Shell ?? DEFAULT_SHELL;
  }

  /** #expansionEnv: ARGs in scope, overridden by ENV (docker's precedence). */
  #expansionEnv(): Map<string, string> {
    const m = new Map<string, string>();
    for (const [k, v] of this.#args) if (v !== undefined) m.set(k, v);
    for (const e of this.#config.Env ?? []) {
      const i = e.indexOf("=");
      if (i > 0) m.set(e.slice(0, i), e.slice(i + 1));
    }
    return m;
  }

  /** #argsInEffect: `K=V` for ARGs with values that no ENV overrides (they reach RUN's environment). */
  #argsInEffect(): string[] {
    const env = new Set((this.#config.Env ?? []).map((e: string) => e.split("=")[0]));
    const out: string[] = [];
    for (const [k, v] of this.#args) if (v !== undefined && !env.has(k)) out.push(`${k}=${v}`);
    return out.sort();
  }

  #word(w: string): string {
    return this.#env.lex.processWord(w, this.#expansionEnv());
  }

  /** dispatch runs one command. */
  async dispatch(cmd: Command): Promise<void> {
    switch (cmd.kind) {
      case "ENV": {
        const env = this.#expansionEnv();
        const pairs = cmd.env.map(
          (kv) => [this.#env.lex.processWord(kv.key, env), this.#env.lex.processWord(kv.value, env)] as const,
        );
        const text = `ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(" ")}`;
        return this.#configStep(text, (c) => {
          const list = [...(c.Env ?? [])];
          for (const [k, v] of pairs) {
            const i = list.findIndex((e) => e.slice(0, e.indexOf("=")) === k);
            if (i >= 0) list[i] = `${k}=${v}`;
            else list.push(`${k}=${v}`);
          }
          c.Env = list;
        });
      }
      case "LABEL": {
        const env = this.#expansionEnv();
        const pairs = cmd.labels.map(
          (kv) => [this.#env.lex.processWord(kv.key, env), this.#env.lex.processWord(kv.value, env)] as const,
        );
        return this.#configStep(`LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(" ")}`, (c) => {
          c.Labels = { ...(c.Labels ?? {}) };
          for (const [k, v] of pairs) c.Labels[k] = v;
        });
      }
      case "ARG": {
        const parts: string[] = [];
        for (const def of cmd.args) {
          let value: string | undefined;
          const fromCli = this.#env.buildArgs.get(def.key);
          if (fromCli !== undefined) {
            value = fromCli;
            this.#env.consumed.add(def.key);
          } else if (def.value !== undefined) value = this.#word(def.value);
          else value = this.#env.metaArgs.get(def.key);
          if (fromCli === undefined && this.#env.buildArgs.has(def.key)) this.#env.consumed.add(def.key);
          this.#args.set(def.key, value);
          parts.push(def.value === undefined ? def.key : `${def.key}=${this.#word(def.value)}`);
        }
        return this.#configStep(`ARG ${parts.join(" ")}`, () => {});
      }
      case "WORKDIR": {
        let dir = this.#word(cmd.path);
        if (!posix.isAbsolute(dir)) dir = posix.join(this.#config.WorkingDir || "/", dir);
        dir = posix.normalize(dir);
        return this.#fsStep(
          nopCreatedBy(this.#shell, `WORKDIR ${dir}`, false),
          `WORKDIR ${dir}`,
          undefined,
          (c) => {
            c.WorkingDir = dir;
          },
          async (rootfs) => {
            const existing = await resolveInRoot(rootfs, dir);
            if (await exists(existing)) return;
            await applyLayer(rootfs, dirTar(dir), { whiteouts: "none" });
          },
          false,
        );
      }
      case "USER": {
        const user = this.#word(cmd.user);
        return this.#configStep(`USER ${user}`, (c) => {
          c.User = user;
        });
      }
      case "EXPOSE": {
        const ports: string[] = [];
        for (const p of cmd.ports) ports.push(...this.#env.lex.processWords(p, this.#expansionEnv()));
        const keys: string[] = [];
        for (const p of ports) {
          const m = PORT.exec(p);
          if (m === null) throw new InvalidArgument(`invalid containerPort: ${p}`);
          const lo = Number(m[1]);
          const hi = m[2] === undefined ? lo : Number(m[2]);
          for (let n = lo; n <= hi; n++) keys.push(`${n}/${(m[3] ?? "tcp").toLowerCase()}`);
        }
        return this.#configStep(`EXPOSE ${ports.join(" ")}`, (c) => {
          c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
          for (const k of keys) c.ExposedPorts[k] = {};
        });
      }
      case "VOLUME": {
        const vols = cmd.volumes.map((v) => this.#word(v));
        return this.#configStep(`VOLUME ${goList(vols)}`, (c) => {
          c.Volumes = { ...(c.Volumes ?? {}) };
          for (const v of vols) c.Volumes[v] = {};
        });
      }
      case "STOPSIGNAL": {
        const sig = this.#word(cmd.signal);
        return this.#configStep(`STOPSIGNAL ${sig}`, (c) => {
          c.StopSignal = sig;
        });
      }
      case "CMD": {
        const cmdLine = cmd.prependShell ? [...this.#shell, ...cmd.cmd] : cmd.cmd;
        this.#cmdSet = true;
        return this.#configStep(`CMD ${goQuoteList(cmdLine)}`, (c) => {
          c.Cmd = cmdLine;
        });
      }
      case "ENTRYPOINT": {
        const ep = cmd.prependShell && cmd.cmd.length > 0 ? [...this.#shell, ...cmd.cmd] : cmd.cmd;
        const resetCmd = !this.#cmdSet;
        return this.#configStep(`ENTRYPOINT ${goQuoteList(ep)}`, (c) => {
          c.Entrypoint = ep.length === 0 ? null : ep;
          if (resetCmd) c.Cmd = null;
        });
      }
      case "SHELL":
        return this.#configStep(`SHELL ${goList(cmd.shell)}`, (c) => {
          c.Shell = [...cmd.shell];
        });
      case "HEALTHCHECK": {
        const h = cmd.health;
        const hc = {
          Test: h.test,
          ...(h.interval ? { Interval: h.interval } : {}),
          ...(h.timeout ? { Timeout: h.timeout } : {}),
          ...(h.startPeriod ? { StartPeriod: h.startPeriod } : {}),
          ...(h.startInterval ? { StartInterval: h.startInterval } : {}),
          ...(h.retries ? { Retries: h.retries } : {}),
        };
        return this.#configStep(`HEALTHCHECK ${goQuoteList(h.test)} ${JSON.stringify(hc)}`, (c) => {
          c.Healthcheck = hc;
        });
      }
      case "ONBUILD":
        return this.#configStep(`ONBUILD ${cmd.expression}`, (c) => {
          c.OnBuild = [...(c.OnBuild ?? []), cmd.expression];
        });
      case "MAINTAINER":
        return this.#configStep(
          `MAINTAINER ${cmd.maintainer}`,
          () => {},
          (cfg) => {
            cfg.author = cmd.maintainer;
          },
        );
      case "RUN":
        return this.#run(cmd);
      case "COPY":
      case "ADD":
        return this.#copy(cmd);
    }
  }

  async #run(cmd: Extract<Command, { kind: "RUN" }>): Promise<void> {
    if (cmd.heredocs.length > 0)
      throw new NotImplemented("RUN with a heredoc is not supported by the builder yet");
    if (cmd.mounts.length > 0) throw new NotImplemented("RUN --mount is not supported by the builder yet");
    if (cmd.network === "host")
      throw new NotImplemented("RUN --network=host is not supported by the builder yet");
    const args = cmd.prependShell ? [...this.#shell, ...cmd.cmdLine] : cmd.cmdLine;
    if (args.length === 0) throw new InvalidArgument("RUN requires a command");
    const buildArgs = this.#argsInEffect();
    const createdBy = runCreatedBy(args, buildArgs);
    const cfg = this.#config;
    const env = [...buildArgs, ...(cfg.Env ?? [])];
    await this.#fsStep(
      createdBy,
      `RUN ${createdBy}`,
      undefined,
      undefined,
      async (rootfs, id) => {
        this.#env.progress({
          kind: "output",
          fd: "stdout",
          data: Buffer.alloc(0),
          stream: ` ---> Running in ${id.slice(-12)}\n`,
        });
        const code = await runInContainer(this.#env.deps.runtime, {
          id,
          rootfs,
          bundle: join(this.#env.deps.workDir, id),
          args,
          env,
          cwd: cfg.WorkingDir || "/",
          user: cfg.User ?? "",
          cgroupParent: this.#env.deps.cgroupParent ?? "/berth-build",
          onOutput: (fd, data) =>
            this.#env.progress({ kind: "output", fd, data, stream: data.toString("utf8") }),
          ...(this.#env.signal === undefined ? {} : { signal: this.#env.signal }),
        });
        if (code !== 0) throw new RunFailedError(args.join(" "), code);
      },
      true,
    );
  }

  async #copy(cmd: CopyInstruction | AddInstruction): Promise<void> {
    if (cmd.heredocs.length > 0)
      throw new NotImplemented(`${cmd.kind} with a heredoc source is not supported yet`);
    if (cmd.exclude.length > 0) throw new NotImplemented(`${cmd.kind} --exclude is not supported yet`);
    if (cmd.kind === "COPY" && cmd.parents) throw new NotImplemented("COPY --parents is not supported yet");
    const sources = cmd.sources.map((s) => this.#word(s));
    const dest = this.#word(cmd.dest);
    if (cmd.kind === "ADD" && sources.some((s) => /^(https?|git):\/\/|^git@/.test(s))) {
      throw new NotImplemented("ADD from a URL or git repository is not supported yet");
    }
    const chown = cmd.chown === undefined ? undefined : this.#word(cmd.chown);
    const chmod = cmd.chmod === undefined ? undefined : parseChmod(this.#word(cmd.chmod));
    const from = cmd.kind === "COPY" ? cmd.from : undefined;
    const wildcard = sources.some((s) => /[*?[]/.test(s));
    const withTree = async <T>(fn: (tree: SourceTree) => Promise<T>): Promise<T> => {
      if (from === undefined) return fn(this.#env.context);
      const state = this.#env.stages.get(from.toLowerCase()) ?? (await this.#imageState(from));
      return withMounted(this.#env.deps, state, async (rootfs) => fn(await SourceTree.open(rootfs)));
    };
    const cfg = this.#config;
    const flags = [
      from === undefined ? "" : `--from=${from} `,
      chown === undefined ? "" : `--chown=${chown} `,
      cmd.chmod === undefined ? "" : `--chmod=${cmd.chmod} `,
    ].join("");
    const cacheText = `${cmd.kind} ${flags}${JSON.stringify(sources)} ${dest}`;
    await withTree(async (tree) => {
      const matched: MatchedSource[] = [];
      for (const s of sources) matched.push(...(await tree.match(s)));
      const digest = await hashSources(matched);
      const kindWord = matched.length > 1 ? "multi" : matched[0]?.top.stat.isDirectory() ? "dir" : "file";
      const createdBy = nopCreatedBy(
        this.#shell,
        `${cmd.kind} ${kindWord}:${digest.slice(7)} in ${dest} `,
        false,
      );
      await this.#fsStep(
        createdBy,
        cacheText,
        digest,
        undefined,
        async (rootfs) => {
          const owner = chown === undefined ? undefined : await resolveChown(rootfs, chown);
          await copyInto({
            rootfs,
            sources: matched,
            dest,
            workdir: cfg.WorkingDir || "/",
            wildcard,
            ...(owner === undefined ? {} : { owner }),
            ...(chmod === undefined ? {} : { chmod }),
            extractArchives: cmd.kind === "ADD",
            instruction: cmd.kind,
          });
        },
        true,
      );
    });
  }

  async #imageState(nameOrId: string): Promise<ImageState> {
    const rec = this.#env.deps.images.resolve(nameOrId);
    return imageStateOf(rec);
  }

  async #configStep(
    text: string,
    change: (c: ContainerConfig) => void,
    top?: (cfg: ImageConfig) => void,
  ): Promise<void> {
    await this.#fsStep(nopCreatedBy(this.#shell, text), text, undefined, change, undefined, false, top);
  }

  /**
   * #fsStep is every step: cache lookup, then the config change and (with `fs`) a snapshot of
   * the current image where `fs` runs, whose diff becomes a layer (always with `alwaysLayer`,
   * else only when something changed), a history entry, and the cache record.
   */
  async #fsStep(
    createdBy: string,
    cacheText: string,
    sources: string | undefined,
    change: ((c: ContainerConfig) => void) | undefined,
    fs: ((rootfs: string, id: string) => Promise<void>) | undefined,
    alwaysLayer: boolean,
    top?: (cfg: ImageConfig) => void,
  ): Promise<void> {
    const key = cacheKey({
      parent: stateId(this.state),
      instruction: cacheText,
      args: this.#argsInEffect(),
      ...(sources === undefined ? {} : { sources }),
    });
    if (!this.#env.noCache) {
      const hit = await this.#env.cache.get(key);
      if (hit !== undefined) {
        this.state = hit;
        this.#env.counters.cached++;
        this.#env.progress({ kind: "cached", stream: ` ---> Using cache\n ---> ${shortId(hit)}\n` });
        return;
      }
    }
    const config: ImageConfig = structuredClone(this.state.config);
    const cc: ContainerConfig = config.config ?? {};
    change?.(cc);
    config.config = cc;
    top?.(config);
    const layers = [...this.state.layers];
    let empty = true;
    if (fs !== undefined) {
      const diff = await withMounted(this.#env.deps, this.state, fs, true);
      if (diff !== undefined && (alwaysLayer || !diff.empty)) {
        layers.push(diff.layer);
        config.rootfs = { type: "layers", diff_ids: [...config.rootfs.diff_ids, diff.layer.diffId] };
        empty = false;
      }
    }
    const created = new Date().toISOString();
    config.created = created;
    config.history = [
      ...(config.history ?? []),
      { created, created_by: createdBy, ...(empty ? { empty_layer: true } : {}) },
    ];
    this.state = { config, layers };
    await this.#env.cache.put(key, this.state);
    this.#env.counters.executed++;
    this.#env.progress({ kind: "cached", stream: ` ---> ${shortId(this.state)}\n` });
  }
}

/**
 * shortId is the 12-hex id docker prints for a step: the ID the state would have as an image (the
 * digest of its config as it is written), so the last step matches "Successfully built".
 */
export function shortId(state: ImageState): string {
  return sha256(JSON.stringify(state.config)).slice(7, 19);
}

/** imageStateOf turns an image record into the builder's state. */
export function imageStateOf(rec: {
  config: ImageConfig;
  layers: readonly { digest: string; diffId: string; size: number; mediaType: string }[];
}): ImageState {
  return {
    config: structuredClone(rec.config),
    layers: rec.layers.map((l) => ({
      digest: l.digest as `sha256:${string}`,
      diffId: l.diffId as `sha256:${string}`,
      size: l.size,
      mediaType: l.mediaType,
      unpackedSize: -1,
    })),
  };
}

/**
 * withMounted mounts an overlay of `state` for the duration of `fn` and always removes it; with
 * `commit`, the upper dir is committed as a layer while still mounted (see commitLayer).
 */
export async function withMounted<T>(
  deps: BuildDeps,
  state: ImageState,
  fn: (rootfs: string, id: string) => Promise<T>,
  commit?: false,
): Promise<T>;
export async function withMounted(
  deps: BuildDeps,
  state: ImageState,
  fn: (rootfs: string, id: string) => Promise<void>,
  commit: true,
): Promise<Awaited<ReturnType<typeof commitLayer>>>;
export async function withMounted(
  deps: BuildDeps,
  state: ImageState,
  fn: (rootfs: string, id: string) => Promise<unknown>,
  commit = false,
): Promise<unknown> {
  const id = `berth-build-${randomBytes(6).toString("hex")}`;
  try {
    const layer = await deps.snapshots.createContainerLayer(id, { layers: state.layers });
    const rootfs = await deps.snapshots.mountContainer(id);
    const r = await fn(rootfs, id);
    if (!commit) return r;
    return await commitLayer(
      { upperdir: layer.upperdir, lowerdirs: layer.lowerdirs, merged: rootfs },
      deps.content,
      deps.layerCompression === undefined ? {} : { compression: deps.layerCompression },
    );
  } finally {
    await deps.snapshots.removeContainerLayer(id);
  }
}

function parseChmod(s: string): number {
  if (!/^[0-7]{3,4}$/.test(s))
    throw new InvalidArgument(`invalid chmod parameter: ${JSON.stringify(s)}, expected octal such as 0755`);
  return Number.parseInt(s, 8);
}

/** resolveChown maps `--chown=user[:group]` in the image; a user without group uses the uid as gid (docker). */
async function resolveChown(rootfs: string, chown: string): Promise<{ uid: number; gid: number }> {
  const colon = chown.indexOf(":");
  if (colon < 0) {
    const u = await resolveUser(rootfs, chown);
    return { uid: u.uid, gid: u.uid };
  }
  const u = await resolveUser(rootfs, chown);
  return { uid: u.uid, gid: u.gid };
}

function dirTar(dir: string): Readable {
  const pack = tar.pack();
  pack.entry(
    { name: `${dir.replace(/^\/+/, "")}/`, type: "directory", mode: 0o755, uid: 0, gid: 0 },
    (err) => {
      if (err) pack.destroy(err);
      else pack.finalize();
    },
  );
  return Readable.from(pack as unknown as AsyncIterable<Buffer>, { objectMode: false });
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}
