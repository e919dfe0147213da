/**
 * composeContext: what every `berth compose` subcommand shares: the project options given
 * before the subcommand (`-f`, `-p`, `--env-file`, `--profile`, `--project-directory`),
 * loading the project, an executor wired to the client and the CLI's build-context packer,
 * and compose's progress lines on stderr (` Container p-web-1  Started`).
 *
 * @since 0.1.0
 */
import { Compose, type LoadOptions, loadProject, type ProgressEvent, type Project } from "@berth/compose";
import { contextTar } from "../buildContext.ts";
import type { CommandSpec, Invocation } from "../Command.ts";
import type { ParsedArgs } from "../FlagParser.ts";

/** ProjectFlags are the options of `berth compose` itself. */
export interface ProjectFlags {
  readonly files: string[];
  readonly projectName: string | undefined;
  readonly envFiles: string[];
  readonly profiles: string[];
  readonly projectDirectory: string | undefined;
}

/** ComposeInvocation is what a compose subcommand receives. */
export interface ComposeInvocation {
  readonly path: string;
  readonly parsed: ParsedArgs;
  readonly flags: ProjectFlags;
  readonly inv: Invocation;
  /** project loads (once) the project from the flags. */
  project(): Promise<Project>;
  /** compose returns an executor over the loaded project (printing progress). */
  compose(opts?: { quiet?: boolean }): Promise<Compose>;
}

/** ComposeSubcommand is what each compose*.ts module exports as `subcommand`. */
export interface ComposeSubcommand {
  readonly spec: CommandSpec;
  run(ctx: ComposeInvocation): Promise<number>;
}

/** progressPrinter writes compose's per-resource status lines to stderr. */
export function progressPrinter(): (e: ProgressEvent) => void {
  const tty = process.stderr.isTTY === true;
  return (e) => {
    const done =
      /^(Created|Started|Running|Recreated|Stopped|Removed|Healthy|Exited|Built|Pulled|Pushed)$/.test(
        e.status,
      );
    const mark = tty ? (e.error ? " \u2718" : done ? " \u2714" : " \u283f") : "";
    process.stderr.write(`${mark} ${e.resource} ${e.name}  ${e.status}\n`);
  };
}

/** loadOptions turns the project flags into @berth/compose loader options. */
export function loadOptions(flags: ProjectFlags): LoadOptions {
  return {
    ...(flags.files.length > 0 ? { files: flags.files } : {}),
    ...(flags.projectName !== undefined ? { projectName: flags.projectName } : {}),
    ...(flags.envFiles.length > 0 ? { envFiles: flags.envFiles } : {}),
    ...(flags.profiles.length > 0 ? { profiles: flags.profiles } : {}),
    ...(flags.projectDirectory !== undefined ? { projectDirectory: flags.projectDirectory } : {}),
    onWarning: (m) => process.stderr.write(`WARN[0000] ${m}\n`),
  };
}

/** makeContext builds the invocation handed to a subcommand. */
export function makeContext(
  path: string,
  parsed: ParsedArgs,
  flags: ProjectFlags,
  inv: Invocation,
): ComposeInvocation {
  let loaded: Promise<Project> | undefined;
  const project = () => {
    loaded ??= loadProject(loadOptions(flags));
    return loaded;
  };
  return {
    path,
    parsed,
    flags,
    inv,
    project,
    async compose(opts = {}) {
      const [p, client] = await Promise.all([project(), inv.client()]);
      return new Compose({
        client,
        project: p,
        buildContext: async (dir, dockerfile) => (await contextTar(dir, dockerfile)).stream,
        ...(opts.quiet ? {} : { onProgress: progressPrinter() }),
        onWarning: (m) => process.stderr.write(`WARN[0000] ${m}\n`),
      });
    },
  };
}

/**
 * emptyProject stands for a project known only by name (`compose -p NAME down` without a
 * file): the executor then works from the engine's labels alone.
 */
export function emptyProject(name: string): Project {
  return {
    name,
    workingDir: process.cwd(),
    configFiles: [],
    services: {},
    disabledServices: {},
    networks: {},
    volumes: {},
    secrets: {},
    configs: {},
    environment: {},
    extensions: {},
  };
}
