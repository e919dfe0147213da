/**
 * loadProject: the Compose loader. Finds the compose files, reads `.env` / `--env-file`,
 * parses and interpolates each file, validates it against the schema, resolves `extends` and
 * `include`, merges override files by the spec's rules, applies profiles and returns the
 * normalised {@link Project}.
 *
 * @since 0.1.0
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { InvalidArgument, NotFound } from "@berth/errdefs";
import { finalizeProject } from "./finalizeProject.ts";
import { interpolateValue, type Lookup } from "./interpolate.ts";
import { mergeModels, mergeValue } from "./merge.ts";
import { normalizeService } from "./normalizeService.ts";
import type { Project } from "./Project.ts";
import { parseDotEnv } from "./parseDotEnv.ts";
import { parseYaml } from "./parseYaml.ts";
import { validateSchema } from "./validateSchema.ts";

type Raw = Record<string, unknown>;

/** LoadOptions configures {@link loadProject}. */
export interface LoadOptions {
  /** Compose files (`-f`), relative to `cwd`; default: compose.yaml (and its override) found from `cwd` upwards. */
  readonly files?: readonly string[];
  /** The directory relative paths start from (default process.cwd()). */
  readonly cwd?: string;
  /** `--project-directory` (default: the first file's directory). */
  readonly projectDirectory?: string;
  /** `-p` (wins over COMPOSE_PROJECT_NAME and `name:`). */
  readonly projectName?: string;
  /** `--env-file` list (default `.env` in the project directory, if present). */
  readonly envFiles?: readonly string[];
  /** `--profile` list (added to COMPOSE_PROFILES). */
  readonly profiles?: readonly string[];
  /** The process environment (default process.env); it wins over `.env`. */
  readonly environment?: Readonly<Record<string, string | undefined>>;
  /** Receives warnings (obsolete `version:`, unset variables). */
  readonly onWarning?: (message: string) => void;
}

const DEFAULT_FILES = ["compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"];
const OVERRIDE_FILES = [
  "compose.override.yaml",
  "compose.override.yml",
  "docker-compose.override.yml",
  "docker-compose.override.yaml",
];

/** findDefaultFiles looks for compose.yaml (and its override) in `dir` and its parents. */
export function findDefaultFiles(dir: string): string[] {
  let d = resolve(dir);
  for (;;) {
    for (const f of DEFAULT_FILES) {
      const p = join(d, f);
      if (existsSync(p)) {
        const override = OVERRIDE_FILES.map((o) => join(d, o)).find((o) => existsSync(o));
        return override ? [p, override] : [p];
      }
    }
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  throw new NotFound("no configuration file provided: not found", { code: "ERR_NO_COMPOSE_FILE" });
}

/** LoadContext carries what every file of one (sub-)project is loaded with. */
interface LoadContext {
  readonly env: Lookup;
  readonly warn: (m: string) => void;
  /** include stack (absolute file names) for cycle detection. */
  readonly includeStack: readonly string[];
}

/** loadEnvFiles reads env files in order (later wins), each able to see the earlier ones and `base`. */
export function loadEnvFiles(files: readonly string[], base: Lookup): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, "utf8");
    } catch {
      throw new NotFound(`couldn't find env file: ${f}`, { code: "ERR_ENV_FILE" });
    }
    Object.assign(out, parseDotEnv(text, { filename: f, lookup: (n) => out[n] ?? base(n) }));
  }
  return out;
}

/** loadProject loads and normalises a project. */
export async function loadProject(opts: LoadOptions = {}): Promise<Project> {
  const cwd = opts.cwd ?? process.cwd();
  // COMPOSE_FILE (from the process environment) stands for -f when none is given.
  const procEnv = opts.environment ?? process.env;
  const given =
    opts.files && opts.files.length > 0
      ? opts.files
      : (procEnv.COMPOSE_FILE ?? "").split(procEnv.COMPOSE_PATH_SEPARATOR ?? ":").filter((f) => f !== "");
  const files = (given.length > 0 ? given.map((f) => resolve(cwd, f)) : findDefaultFiles(cwd)).map((f) => {
    if (!existsSync(f))
      throw new NotFound(`open ${f}: no such file or directory`, { code: "ERR_NO_COMPOSE_FILE" });
    return f;
  });
  const projectDir = resolve(cwd, opts.projectDirectory ?? dirname(files[0] as string));
  const osEnv = opts.environment ?? process.env;
  const warn = opts.onWarning ?? (() => {});
  const envFiles = opts.envFiles
    ? opts.envFiles.map((f) => resolve(cwd, f))
    : existsSync(join(projectDir, ".env")) && statSync(join(projectDir, ".env")).isFile()
      ? [join(projectDir, ".env")]
      : [];
  const dotenv = loadEnvFiles(envFiles, (n) => osEnv[n]);
  const environment: Record<string, string> = { ...dotenv };
  for (const [k, v] of Object.entries(osEnv)) if (v !== undefined) environment[k] = v;
  const warned = new Set<string>();
  const ctx: LoadContext = {
    env: (n) => environment[n],
    warn,
    includeStack: [],
  };
  const missing = (name: string) => {
    if (warned.has(name)) return;
    warned.add(name);
    warn(`The "${name}" variable is not set. Defaulting to a blank string.`);
  };
  let model: Raw = {};
  for (const f of files) {
    const m = loadFile(f, projectDir, { ...ctx, env: ctx.env }, missing);
    model = mergeModels(model, m);
  }
  const profiles = [
    ...(environment.COMPOSE_PROFILES ?? "").split(",").filter((p) => p !== ""),
    ...(opts.profiles ?? []),
  ];
  let name =
    opts.projectName ??
    environment.COMPOSE_PROJECT_NAME ??
    (typeof model.name === "string" ? model.name : undefined);
  name ??= basename(projectDir);
  return finalizeProject(model, {
    name: normalizeProjectName(name, opts.projectName !== undefined),
    workingDir: projectDir,
    configFiles: files,
    environment,
    profiles,
  });
}

/** normalizeProjectName lower-cases a derived name and drops characters compose does not allow; an explicit bad name is an error. */
export function normalizeProjectName(name: string, explicit: boolean): string {
  const valid = /^[a-z0-9][a-z0-9_-]*$/;
  if (explicit) {
    if (!valid.test(name)) {
      throw new InvalidArgument(
        `invalid project name ${JSON.stringify(name)}: must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number`,
      );
    }
    return name;
  }
  const n = name
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, "")
    .replace(/^[_-]+/, "");
  if (n === "")
    throw new InvalidArgument(`project name ${JSON.stringify(name)} is empty once normalised, use -p`);
  return n;
}

/** readModel parses, interpolates and validates one file and canonicalises its services. */
function readModel(file: string, ctx: LoadContext, missing: (n: string) => void): Raw {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new NotFound(`open ${file}: no such file or directory`);
  }
  const src = parseYaml(text, file);
  if (src.value === null || typeof src.value !== "object" || Array.isArray(src.value)) {
    if (src.value === null || text.trim() === "") return {};
    throw new InvalidArgument(`${file}: top-level object must be a mapping`);
  }
  const raw = src.value as Raw;
  // Phase 4: an empty service (`nil:`) is an empty mapping.
  if (raw.services !== null && typeof raw.services === "object") {
    for (const [k, v] of Object.entries(raw.services as Raw)) if (v === null) (raw.services as Raw)[k] = {};
  }
  for (const k of ["networks", "volumes", "secrets", "configs"]) {
    if (raw[k] !== null && typeof raw[k] === "object") {
      for (const [n, v] of Object.entries(raw[k] as Raw)) if (v === null) (raw[k] as Raw)[n] = {};
    }
  }
  const value = interpolateValue(raw, ctx.env, { onMissing: missing }) as Raw;
  validateSchema(value, src);
  if (value.version !== undefined) {
    ctx.warn(
      `${file}: the attribute \`version\` is obsolete, it will be ignored, please remove it to avoid potential confusion`,
    );
    delete value.version;
  }
  if (value.services && typeof value.services === "object") {
    const services: Raw = {};
    for (const [name, svc] of Object.entries(value.services as Raw)) {
      services[name] = normalizeService(name, svc as Raw);
    }
    value.services = services;
  }
  return value;
}

/** loadFile reads one file with extends and include resolved and relative paths made absolute against `baseDir`. */
function loadFile(file: string, baseDir: string, ctx: LoadContext, missing: (n: string) => void): Raw {
  if (ctx.includeStack.includes(file)) {
    throw new InvalidArgument(`include cycle detected:\n${[...ctx.includeStack, file].join("\n include ")}`, {
      code: "ERR_INCLUDE_CYCLE",
    });
  }
  const model = readModel(file, ctx, missing);
  resolveModelPaths(model, baseDir, dirname(file));
  resolveExtends(model, file, ctx, missing);
  if (Array.isArray(model.include)) {
    const included = model.include;
    delete model.include;
    for (const entry of included) {
      const inc = loadInclude(
        entry,
        dirname(file),
        { ...ctx, includeStack: [...ctx.includeStack, file] },
        missing,
      );
      for (const kind of ["services", "networks", "volumes", "secrets", "configs"]) {
        const from = (inc[kind] ?? {}) as Raw;
        const to = (model[kind] ?? {}) as Raw;
        for (const [k, v] of Object.entries(from)) {
          if (k in to) {
            if (kind === "services" || JSON.stringify(to[k]) !== JSON.stringify(v)) {
              throw new InvalidArgument(`${kind}.${k} conflicts with imported resource`, {
                code: "ERR_INCLUDE_CONFLICT",
              });
            }
          }
          to[k] = v;
        }
        if (Object.keys(to).length > 0) model[kind] = to;
      }
    }
  }
  return model;
}

function loadInclude(entry: unknown, dir: string, parent: LoadContext, missing: (n: string) => void): Raw {
  const e = (typeof entry === "string" ? { path: entry } : entry) as Raw;
  const paths = (Array.isArray(e.path) ? e.path : [e.path]).map((p) => resolve(dir, String(p)));
  const projectDir = e.project_directory
    ? resolve(dir, String(e.project_directory))
    : dirname(paths[0] as string);
  const envFiles =
    e.env_file !== undefined
      ? (Array.isArray(e.env_file) ? e.env_file : [e.env_file]).map((f) => resolve(dir, String(f)))
      : existsSync(join(projectDir, ".env"))
        ? [join(projectDir, ".env")]
        : [];
  // The including project's variables win over the included project's .env.
  const own = loadEnvFiles(envFiles, parent.env);
  const ctx: LoadContext = { ...parent, env: (n) => parent.env(n) ?? own[n] };
  let model: Raw = {};
  for (const p of paths) model = mergeModels(model, loadFile(p, projectDir, ctx, missing));
  delete model.name;
  return model;
}

/** resolveExtends replaces every service's `extends` by the merged result. */
function resolveExtends(model: Raw, file: string, ctx: LoadContext, missing: (n: string) => void): void {
  const services = (model.services ?? {}) as Raw;
  const done = new Map<string, Raw>();
  const resolveOne = (name: string, stack: string[]): Raw => {
    const cached = done.get(name);
    if (cached) return cached;
    const svc = services[name] as Raw | undefined;
    if (!svc)
      throw new InvalidArgument(
        `cannot extend service ${JSON.stringify(name)} in ${file}: service not found`,
      );
    const ext = svc.extends;
    if (ext === undefined) {
      done.set(name, svc);
      return svc;
    }
    const key = `${file}#${name}`;
    if (stack.includes(key))
      throw new InvalidArgument(
        `circular reference with extends in ${file}: ${[...stack, key].join(" -> ")}`,
      );
    const spec = (typeof ext === "string" ? { service: ext } : ext) as Raw;
    let base: Raw;
    if (spec.file !== undefined) {
      const other = resolve(dirname(file), String(spec.file));
      if (other === file) base = resolveOne(String(spec.service), [...stack, key]);
      else {
        const m = readModel(other, ctx, missing);
        resolveModelPaths(m, dirname(other), dirname(other));
        resolveExtends(m, other, ctx, missing);
        const b = ((m.services ?? {}) as Raw)[String(spec.service)] as Raw | undefined;
        if (!b)
          throw new InvalidArgument(
            `cannot extend service ${JSON.stringify(spec.service)} in ${other}: service not found`,
          );
        base = b;
      }
    } else {
      base = resolveOne(String(spec.service), [...stack, key]);
    }
    const { extends: _drop, ...rest } = svc;
    const merged = mergeValue(base, rest, "") as Raw;
    done.set(name, merged);
    return merged;
  };
  for (const name of Object.keys(services)) services[name] = resolveOne(name, []);
}

function absolutize(p: string, dir: string): string {
  if (p.startsWith("~/") || p === "~") return join(homedir(), p.slice(1));
  return isAbsolute(p) ? p : resolve(dir, p);
}

function isRemote(ctx: string): boolean {
  return /^[a-z]+:\/\//i.test(ctx) || ctx.startsWith("git@") || ctx.startsWith("github.com/");
}

/** resolveModelPaths makes the model's relative paths absolute (`baseDir` for build/volumes/env files). */
function resolveModelPaths(model: Raw, baseDir: string, _fileDir: string): void {
  for (const svc of Object.values((model.services ?? {}) as Raw) as Raw[]) {
    const b = svc.build as Raw | undefined;
    if (b && typeof b === "object" && !Array.isArray(b)) {
      const c = b.context === undefined ? "." : String(b.context);
      b.context = isRemote(c) ? c : absolutize(c, baseDir);
    }
    if (Array.isArray(svc.env_file)) {
      for (const f of svc.env_file as Raw[]) f.path = absolutize(String(f.path), baseDir);
    }
    if (Array.isArray(svc.volumes)) {
      for (const v of svc.volumes as Raw[]) {
        if (v.type === "bind" && typeof v.source === "string") v.source = absolutize(v.source, baseDir);
      }
    }
    if (svc.extends && typeof svc.extends === "object") {
      const e = svc.extends as Raw;
      // extends.file stays relative to the file that names it; resolveExtends resolves it.
      void e;
    }
  }
  for (const kind of ["secrets", "configs"]) {
    for (const o of Object.values((model[kind] ?? {}) as Raw) as Raw[]) {
      if (o && typeof o.file === "string") o.file = absolutize(o.file, baseDir);
    }
  }
}
