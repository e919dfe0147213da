import { randomBytes } from "node:crypto";
import { lstat, mkdir, rm, writeFile } from "node:fs/promises";
import { join, posix } from "node:path";
import { Readable } from "node:stream";
import { applyLayer, resolveInRoot } from "@berth/archive";
import {
  type AddInstruction,
  type Command,
  type CopyInstruction,
  cleanPath,
  Lex,
  type Mount,
  parseMount,
} from "@berth/dockerfile";
import { FailedPrecondition, InvalidArgument, NotImplemented } from "@berth/errdefs";
import { type ImageConfig, type ImageSpec, sha256 } from "@berth/oci";
import { resolveUser } from "@berth/runtime";
import * as tar from "tar-stream";
import { type BuildCache, cacheKey, stateId } from "./BuildCache.ts";
import { diffLayer, storeLayer } from "./commitLayer.ts";
import { copyInto } from "./copyInto.ts";
import { goList, goQuoteList, nopCreatedBy, runCreatedBy } from "./createdBy.ts";
import { excludeSources } from "./excludeSources.ts";
import { fetchUrl, isGitUrl, isHttpUrl } from "./fetchUrl.ts";
import { HEREDOC_SCRIPT_DIR, heredocRun } from "./heredocRun.ts";
import { parseChmod } from "./parseChmod.ts";
import { runInContainer } from "./runInContainer.ts";
import { missingPaths, type PreparedMounts, prepareRunMounts, removeStubs } from "./runMounts.ts";
import { hashSources, type MatchedSource, SourceTree } from "./SourceTree.ts";

type ContainerConfig = ImageSpec.ContainerConfig;

import type { BuildDeps, BuildOptions, BuildProgress, ImageState, LayerState, RunSandbox } from "./types.ts";

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
  /** The context is the build's own copy (BuildOptions.ownContext): COPY may hard-link from it. */
  readonly ownContext: boolean;
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
  /** The build request's secrets (RUN --mount=type=secret). */
  readonly secrets?: BuildOptions["secrets"];
  /** Network of RUN steps without `--network`. */
  readonly networkMode?: BuildOptions["networkMode"];
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
  /**
   * Set once a step of this stage missed the cache: every later step's parent is then a state
   * that has never existed before (its config carries the new step's creation time), so their
   * lookups cannot hit and are skipped, and a step's layer is stored in the background while the
   * next steps run (see withMounted's "pipelined" commit). Their cache records wait for it.
   */
  #pipelined = false;
  /** Background layer stores of this stage, and the cache records that wait for them, in order. */
  readonly #stores: Promise<void>[] = [];
  /** `stores`: how many background stores this record's state depends on (the first ones). */
  readonly #records: Array<{ key: () => string; state: ImageState; stores: number }> = [];

  constructor(base: ImageState, env: StageEnv) {
    this.state = base;
    this.#env = env;
  }

  /**
   * finish waits for this stage's background layer stores, writes the cache records that waited
   * for them (in step order), and returns the final state: every layer stored, digests known.
   */
  async finish(): Promise<ImageState> {
    const failed = await this.#flush();
    if (failed !== undefined) throw failed.reason;
    return this.state;
  }

  /**
   * settle waits for background layer stores after a failed step and records the steps that did
   * complete (their errors are dropped): the next build resumes from them, as before the failure.
   */
  async settle(): Promise<void> {
    await this.#flush();
  }

  /**
   * #flush waits for every background store, then writes, in step order, the cache records whose
   * layers all got stored; returns the first failed store, if any.
   */
  async #flush(): Promise<PromiseRejectedResult | undefined> {
    const results = await Promise.allSettled(this.#stores);
    const bad = results.findIndex((r) => r.status === "rejected");
    for (const r of this.#records.splice(0)) {
      if (bad >= 0 && r.stores > bad) break;
      const tp = performance.now();
      await this.#env.cache.put(r.key(), r.state);
      if (TRACE) process.stderr.write(`build step cache put: ${(performance.now() - tp).toFixed(1)}ms\n`);
    }
    return bad >= 0 ? (results[bad] as PromiseRejectedResult) : undefined;
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
    const hd = cmd.prependShell ? heredocRun(cmd.cmdLine, cmd.heredocs) : { cmdLine: cmd.cmdLine };
    if (hd.script !== undefined && !/^[A-Za-z0-9_.-]+$/.test(hd.script.name))
      throw new InvalidArgument(`invalid heredoc name ${JSON.stringify(hd.script.name)} for a script`);
    const args = cmd.prependShell ? [...this.#shell, ...hd.cmdLine] : cmd.cmdLine;
    if (args.length === 0) throw new InvalidArgument("RUN requires a command");
    const mounts = cmd.mountSpecs.map((spec) => parseMount(spec, (w) => this.#word(w)));
    const network = cmd.network ?? this.#env.networkMode ?? "default";
    const buildArgs = this.#argsInEffect();
    const createdBy = runCreatedBy(args, buildArgs);
    const cfg = this.#config;
    const env = [...buildArgs, ...(cfg.Env ?? [])];
    // The key covers what the command line does not show: a heredoc script's body, the mounts'
    // options and the content they bind in, the network mode (never a secret's value).
    const extra = [
      hd.script === undefined ? "" : ` script=${sha256(hd.script.data)}`,
      mounts.length === 0 ? "" : ` mounts=${JSON.stringify(mounts)} ${await this.#mountSources(mounts)}`,
      network === "default" ? "" : ` network=${network}`,
    ].join("");
    await this.#fsStep(
      createdBy,
      `RUN ${createdBy}${extra}`,
      undefined,
      undefined,
      async (rootfs, id) => {
        this.#env.progress({
          kind: "output",
          fd: "stdout",
          data: Buffer.alloc(0),
          stream: ` ---> Running in ${id.slice(-12)}\n`,
        });
        const scratch = join(this.#env.deps.workDir, `${id}.m`);
        await mkdir(scratch, { recursive: true, mode: 0o700 });
        let sandbox: RunSandbox | undefined;
        let prepared: PreparedMounts | undefined;
        const stubs: string[] = [];
        try {
          prepared = await prepareRunMounts(mounts, {
            deps: this.#env.deps,
            cwd: cfg.WorkingDir || "/",
            contextRoot: this.#env.context.root,
            resolveFrom: (from) => this.#fromState(from),
            secrets: this.#secrets(),
            scratch,
          });
          const extraMounts = [...prepared.mounts];
          if (hd.script !== undefined) {
            const dir = join(scratch, "pipes");
            await mkdir(dir, { mode: 0o755 });
            await writeFile(join(dir, hd.script.name), hd.script.data, { mode: 0o755 });
            extraMounts.push({
              destination: HEREDOC_SCRIPT_DIR,
              type: "bind",
              source: dir,
              options: ["rbind", "ro"],
            });
          }
          let netns = "none";
          const etc = (name: string, source: string) =>
            extraMounts.push({ destination: `/etc/${name}`, type: "bind", source, options: ["rbind", "ro"] });
          if (network === "host") {
            netns = "host";
            etc("resolv.conf", "/etc/resolv.conf");
            etc("hosts", "/etc/hosts");
          } else if (network === "default" && this.#env.deps.network !== undefined) {
            sandbox = await this.#env.deps.network(id);
            netns = sandbox.netns;
            await writeFile(join(scratch, "resolv.conf"), sandbox.resolvConf, { mode: 0o644 });
            await writeFile(join(scratch, "hosts"), sandbox.hosts, { mode: 0o644 });
            etc("resolv.conf", join(scratch, "resolv.conf"));
            etc("hosts", join(scratch, "hosts"));
          }
          // Mount points runc makes in the image for these mounts are removed before the commit.
          for (const m of extraMounts)
            if (!m.destination.startsWith("/dev/"))
              stubs.push(...(await missingPaths(rootfs, m.destination)));
          const code = await runInContainer(this.#env.deps.runtime, {
            id,
            rootfs,
            bundle: join(this.#env.deps.workDir, id),
            args,
            env: [...env, ...prepared.env],
            cwd: cfg.WorkingDir || "/",
            user: cfg.User ?? "",
            cgroupParent: this.#env.deps.cgroupParent ?? "/berth-build",
            network: netns,
            mounts: extraMounts,
            onOutput: (fd, data) =>
              this.#env.progress({ kind: "output", fd, data, stream: data.toString("utf8") }),
            ...(this.#env.signal === undefined ? {} : { signal: this.#env.signal }),
          });
          if (code !== 0) throw new RunFailedError(args.join(" "), code);
        } finally {
          await removeStubs(rootfs, stubs);
          await prepared?.release();
          await sandbox?.release();
          await rm(scratch, { recursive: true, force: true });
        }
      },
      true,
    );
  }

  /** #secrets is the build request's secrets by id. */
  #secrets(): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>();
    for (const [k, v] of Object.entries(this.#env.secrets ?? {}))
      out.set(k, typeof v === "string" ? Buffer.from(v) : v);
    return out;
  }

  /** #fromState is the state `from=` names: an earlier stage (name or index) or a local image. */
  async #fromState(from: string): Promise<ImageState> {
    return this.#env.stages.get(from.toLowerCase()) ?? (await this.#imageState(from));
  }

  /**
   * #mountSources digests what RUN mounts bind in, for the cache key: for a context bind the
   * content below `source` (after .dockerignore), for `from=` the stage's or image's identity.
   */
  async #mountSources(mounts: readonly Mount[]): Promise<string> {
    const parts: string[] = [];
    for (const m of mounts) {
      if (m.type !== "bind" && m.type !== "cache") continue;
      if (m.from !== undefined && m.from !== "") parts.push(stateId(await this.#fromState(m.from)));
      else if (m.type === "bind")
        parts.push(
          await hashSources(await this.#env.context.match(m.source || "."), this.#env.context.digests),
        );
    }
    return sha256(parts.join(","));
  }

  async #copy(cmd: CopyInstruction | AddInstruction): Promise<void> {
    const all = cmd.sources.map((s) => this.#word(s));
    const dest = this.#word(cmd.dest);
    const exclude = cmd.exclude.map((e) => this.#word(e));
    const parents = cmd.kind === "COPY" && cmd.parents;
    const urls = cmd.kind === "ADD" ? all.filter((s) => isHttpUrl(s) || isGitUrl(s)) : [];
    const git = urls.find((s) => isGitUrl(s));
    if (git !== undefined)
      throw new NotImplemented(
        `ADD of a git repository (${git}) is not supported: clone it into the build context and COPY it`,
      );
    const sources = all.filter((s) => !urls.includes(s));
    const checksum = cmd.kind === "ADD" && cmd.checksum !== undefined ? this.#word(cmd.checksum) : undefined;
    if (checksum !== undefined && (urls.length !== 1 || sources.length > 0))
      throw new InvalidArgument("checksum can't be specified for multiple sources or for a non-URL source");
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
      exclude.length === 0 ? "" : `--exclude=${JSON.stringify(exclude)} `,
      parents ? "--parents " : "",
      checksum === undefined ? "" : `--checksum=${checksum} `,
    ].join("");
    const inline = [...cmd.heredocs.map((h) => `<<${h.path}`), ...urls];
    const cacheText = `${cmd.kind} ${flags}${JSON.stringify([...sources, ...inline])} ${dest}`;
    // Heredoc files and downloads are written to a scratch tree and copied like context files.
    const scratch = join(this.#env.deps.workDir, `src-${randomBytes(6).toString("hex")}`);
    try {
      const extra: MatchedSource[] = [];
      const remote = new Set<MatchedSource>();
      if (inline.length > 0) {
        await mkdir(scratch, { recursive: true, mode: 0o700 });
        const lex = new Lex({ escapeToken: "\\", skipProcessQuotes: true });
        for (const h of cmd.heredocs) {
          if (!/^[A-Za-z0-9_.-]+$/.test(h.path) || h.path === "." || h.path === "..")
            throw new InvalidArgument(
              `invalid heredoc name ${JSON.stringify(h.path)} for a ${cmd.kind} source`,
            );
          const data = h.expand ? lex.processWord(h.data, this.#expansionEnv()) : h.data;
          const dir = join(scratch, `h${extra.length}`);
          await mkdir(dir);
          await writeFile(join(dir, h.path), data, { mode: 0o644 });
          extra.push(...(await (await SourceTree.open(dir)).match(h.path)));
        }
        for (const url of urls) {
          const dir = join(scratch, `u${extra.length}`);
          await mkdir(dir);
          const got = await fetchUrl(url, dir, {
            ...(checksum === undefined ? {} : { checksum }),
            ...(this.#env.signal === undefined ? {} : { signal: this.#env.signal }),
          });
          const [m] = await (await SourceTree.open(dir)).match(got.name);
          if (m !== undefined) {
            extra.push(m);
            remote.add(m);
          }
        }
      }
      await withTree(async (tree) => {
        const t0 = performance.now();
        let matched: MatchedSource[] = [];
        const pivots: string[] = [];
        for (const s of sources) {
          const found = await tree.match(s);
          matched.push(...found);
          const i = s.indexOf("/./");
          const pivot = parents && i >= 0 ? cleanPath(`/${s.slice(0, i)}`).slice(1) : "";
          for (const _ of found) pivots.push(pivot);
        }
        if (exclude.length > 0) {
          const kept = excludeSources(matched, exclude);
          const keptPivots = pivots.filter((_, i) => kept.some((k) => k.top === matched[i]?.top));
          matched = kept;
          pivots.splice(0, pivots.length, ...keptPivots);
        }
        matched.push(...extra);
        for (const _ of extra) pivots.push("");
        const t1 = performance.now();
        const digest = await hashSources(matched, this.#env.context.digests);
        if (TRACE)
          process.stderr.write(
            `build step sources: match=${(t1 - t0).toFixed(1)}ms hash=${(performance.now() - t1).toFixed(1)}ms\n`,
          );
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
          async (rootfs, _id, upperdir) => {
            const owner = chown === undefined ? undefined : await resolveChown(rootfs, chown);
            // A COPY from the build's own context copy hard-links files whose inode already is
            // the copy (its files are replaced, never rewritten; heredoc scratch files are dropped).
            const link = this.#env.ownContext && cmd.kind === "COPY" && from === undefined;
            const report = await copyInto({
              rootfs,
              sources: matched,
              dest,
              workdir: cfg.WorkingDir || "/",
              wildcard,
              ...(owner === undefined ? {} : { owner }),
              ...(chmod === undefined ? {} : { chmod }),
              ...(parents ? { parents: { pivots } } : {}),
              extractArchives: cmd.kind === "ADD" ? (src: MatchedSource) => !remote.has(src) : false,
              instruction: cmd.kind,
              ...(link ? { linkInto: { upperdir } } : {}),
            });
            // A link moved the sources' ctime: their remembered digests still hold.
            const digests = this.#env.context.digests;
            if (report.linked > 0 && digests !== undefined)
              for (const e of report.linkable) digests.renew(e.abs, e.stat);
          },
          true,
        );
      });
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
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
    fs: ((rootfs: string, id: string, upperdir: string) => Promise<void>) | undefined,
    alwaysLayer: boolean,
    top?: (cfg: ImageConfig) => void,
  ): Promise<void> {
    const keyInput = {
      instruction: cacheText,
      args: this.#argsInEffect(),
      ...(sources === undefined ? {} : { sources }),
    };
    const parent = this.state;
    // Pipelined: the parent's layers may still be being stored, so its ID is taken later.
    const key = this.#pipelined ? undefined : cacheKey({ parent: stateId(parent), ...keyInput });
    if (key !== undefined && !this.#env.noCache) {
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
    this.#pipelined = true;
    if (fs !== undefined) {
      const diff = await withMounted(this.#env.deps, this.state, fs, "pipelined");
      if (diff.stored !== undefined) this.#stores.push(diff.stored);
      if (alwaysLayer || !diff.empty) {
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
    // Recorded once every layer of the parent and of this state is stored (finish).
    this.#records.push({
      key: () => key ?? cacheKey({ parent: stateId(parent), ...keyInput }),
      state: this.state,
      stores: this.#stores.length,
    });
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

/** BERTH_TRACE_PHASES=1: each step's snapshot phases are written to stderr (berthd's log). */
const TRACE = process.env.BERTH_TRACE_PHASES === "1";

/**
 * withMounted mounts an overlay of `state` for the duration of `fn` and always removes it. With
 * `commit` ("pipelined"), the upper dir becomes a layer in two halves (see commitLayer's
 * diffLayer and storeLayer): only the diff ID is taken before the step returns, while the merged
 * view is still mounted (opaque directories); the upper dir is adopted at once as the next step's
 * snapshot, and the blob is made from there in the background (`stored`, which fills in the
 * layer's digest, size and media type). The whole commitLayer would hold the next step back for
 * the compression, the second hash, the write and the fsync of the blob (a 50 MB COPY: about
 * 190 ms against 50 ms for the diff ID).
 */

export async function withMounted<T>(
  deps: BuildDeps,
  state: ImageState,
  fn: (rootfs: string, id: string, upperdir: string) => Promise<T>,
  commit?: false,
): Promise<T>;
export async function withMounted(
  deps: BuildDeps,
  state: ImageState,
  fn: (rootfs: string, id: string, upperdir: string) => Promise<void>,
  commit: "pipelined",
): Promise<PipelinedDiff>;
export async function withMounted(
  deps: BuildDeps,
  state: ImageState,
  fn: (rootfs: string, id: string, upperdir: string) => Promise<unknown>,
  commit: false | "pipelined" = false,
): Promise<unknown> {
  const id = `berth-build-${randomBytes(6).toString("hex")}`;
  const t = TRACE ? [performance.now()] : undefined;
  const compression = deps.layerCompression === undefined ? {} : { compression: deps.layerCompression };
  try {
    const layer = await deps.snapshots.createContainerLayer(id, { layers: state.layers });
    t?.push(performance.now());
    // volatile: the unmount does not sync the whole file system (the adopted upper dir is
    // marked unsynced and written out in the background, see SnapshotStore.adoptLayer).
    const rootfs = await deps.snapshots.mountContainer(id, { volatile: true });
    t?.push(performance.now());
    const r = await fn(rootfs, id, layer.upperdir);
    t?.push(performance.now());
    if (commit === false) return r;
    const measured = await diffLayer({
      upperdir: layer.upperdir,
      lowerdirs: layer.lowerdirs,
      merged: rootfs,
    });
    t?.push(performance.now());
    const pending: LayerState = {
      digest: "sha256:pending",
      diffId: measured.diffId,
      size: 0,
      mediaType: "",
      unpackedSize: measured.unpackedSize,
    };
    const adopted = measured.empty
      ? undefined
      : await adoptUpper(deps, id, [...state.layers, pending], layer.upperdir);
    t?.push(performance.now());
    if (adopted === undefined) {
      // Nothing to overlap (an empty diff), or the upper dir stayed here: store it now.
      const d = await storeLayer(layer.upperdir, measured, deps.content, compression);
      return { layer: d.layer, empty: d.empty } satisfies PipelinedDiff;
    }
    const stored = storeLayer(adopted, measured, deps.content, compression).then((d) => {
      Object.assign(pending, d.layer);
    });
    stored.catch(() => {}); // observed by the stage's finish
    return { layer: pending, empty: false, stored } satisfies PipelinedDiff;
  } finally {
    await deps.snapshots.removeContainerLayer(id);
    if (t !== undefined) {
      t.push(performance.now());
      const names = ["layer", "mount", "step", "commit", "adopt", "remove"];
      const parts = t.slice(1).map((v, i) => `${names[i]}=${(v - (t[i] as number)).toFixed(1)}ms`);
      process.stderr.write(`build step phases: ${parts.join(" ")}\n`);
    }
  }
}

/** What a pipelined commit returns (see withMounted). */
export interface PipelinedDiff {
  /** The layer; while `stored` is pending, only its diff ID and unpacked size are final. */
  readonly layer: LayerState;
  readonly empty: boolean;
  /** The background store, when there is one. */
  readonly stored?: Promise<void>;
}

/**
 * adoptUpper hands the committed upper dir to the snapshot store as the unpacked new top layer,
 * so the next step does not decompress and write the blob again (see SnapshotStore.adoptLayer),
 * and returns where the directory now is. Best effort: on any failure the layer is unpacked from
 * its blob when needed (undefined).
 */
async function adoptUpper(
  deps: BuildDeps,
  id: string,
  layers: ImageState["layers"],
  upperdir: string,
): Promise<string | undefined> {
  try {
    await deps.snapshots.unmountContainer(id);
    return (await deps.snapshots.adoptLayer({ layers }, upperdir, { unsynced: true }))?.path;
  } catch {
    return undefined; // unpacked from the blob later
  }
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
