import type { Mount } from "./parseMount.ts";

/** Fields every typed instruction has: the keyword as written, the logical line and its line span. */
export interface InstructionBase {
  /** Keyword as written (`RUN`, `run`, ...). */
  readonly keyword: string;
  /** The whole logical line (continuations joined), as in the AST node's `original`. */
  readonly original: string;
  readonly startLine: number;
  readonly endLine: number;
}

/** KeyValue is one ENV or LABEL pair; values are unexpanded (quotes kept). `noDelim` marks the legacy `ENV K V` form. */
export interface KeyValue {
  readonly key: string;
  readonly value: string;
  readonly noDelim: boolean;
}

/** ArgDefinition is one ARG name with its optional default (unexpanded). */
export interface ArgDefinition {
  readonly key: string;
  readonly value?: string;
}

/** InlineFile is a heredoc attached to RUN (a script body); `chomp` means `<<-`. */
export interface InlineFile {
  readonly name: string;
  readonly data: string;
  readonly chomp: boolean;
  readonly expand: boolean;
}

/** SourceContent is a heredoc used as a COPY/ADD source: `path` is the file name, `data` already chomped. */
export interface SourceContent {
  readonly path: string;
  readonly data: string;
  readonly expand: boolean;
}

/** FROM, the start of a stage. */
export interface FromInstruction extends InstructionBase {
  readonly kind: "FROM";
  readonly image: string;
  /** Stage name from `AS name`, lower-cased. */
  readonly name?: string;
  readonly platform?: string;
}

/** Command line of RUN/CMD/ENTRYPOINT: exec form (`prependShell` false) or one shell string. */
export interface ShellDependentCommand {
  readonly cmdLine: string[];
  readonly prependShell: boolean;
}

/** RUN. */
export interface RunInstruction extends InstructionBase, ShellDependentCommand {
  readonly kind: "RUN";
  readonly mounts: Mount[];
  /** Raw `--mount` values, for re-parsing with expansion (`parseMount(raw, expand)`). */
  readonly mountSpecs: string[];
  readonly network?: "default" | "none" | "host";
  readonly security?: "sandbox" | "insecure";
  readonly heredocs: InlineFile[];
  readonly flagsUsed: string[];
}

/** Fields shared by COPY and ADD. */
export interface SourcesAndDest {
  /** Paths (or URLs for ADD), unexpanded. */
  readonly sources: string[];
  readonly dest: string;
  readonly chown?: string;
  readonly chmod?: string;
  readonly link: boolean;
  readonly exclude: string[];
  /** Heredoc sources (`COPY <<EOF /dst`), in order. */
  readonly heredocs: SourceContent[];
}

/** COPY. */
export interface CopyInstruction extends InstructionBase, SourcesAndDest {
  readonly kind: "COPY";
  readonly from?: string;
  readonly parents: boolean;
}

/** ADD. */
export interface AddInstruction extends InstructionBase, SourcesAndDest {
  readonly kind: "ADD";
  readonly checksum?: string;
  readonly keepGitDir?: boolean;
  readonly unpack?: boolean;
}

/** CMD. */
export interface CmdInstruction extends InstructionBase {
  readonly kind: "CMD";
  readonly cmd: string[];
  readonly prependShell: boolean;
}

/** ENTRYPOINT. */
export interface EntrypointInstruction extends InstructionBase {
  readonly kind: "ENTRYPOINT";
  readonly cmd: string[];
  readonly prependShell: boolean;
}

/** SHELL (JSON form only). */
export interface ShellInstruction extends InstructionBase {
  readonly kind: "SHELL";
  readonly shell: string[];
}

/** ENV. */
export interface EnvInstruction extends InstructionBase {
  readonly kind: "ENV";
  readonly env: KeyValue[];
}

/** LABEL. */
export interface LabelInstruction extends InstructionBase {
  readonly kind: "LABEL";
  readonly labels: KeyValue[];
}

/** ARG. */
export interface ArgInstruction extends InstructionBase {
  readonly kind: "ARG";
  readonly args: ArgDefinition[];
}

/** EXPOSE (ports sorted as strings, unexpanded). */
export interface ExposeInstruction extends InstructionBase {
  readonly kind: "EXPOSE";
  readonly ports: string[];
}

/** WORKDIR. */
export interface WorkdirInstruction extends InstructionBase {
  readonly kind: "WORKDIR";
  readonly path: string;
}

/** USER. */
export interface UserInstruction extends InstructionBase {
  readonly kind: "USER";
  readonly user: string;
}

/** VOLUME. */
export interface VolumeInstruction extends InstructionBase {
  readonly kind: "VOLUME";
  readonly volumes: string[];
}

/** Healthcheck settings; durations in nanoseconds (0 = inherit), `test[0]` is NONE, CMD or CMD-SHELL. */
export interface HealthConfig {
  readonly test: string[];
  readonly interval: number;
  readonly timeout: number;
  readonly startPeriod: number;
  readonly startInterval: number;
  readonly retries: number;
}

/** HEALTHCHECK (`HEALTHCHECK NONE` gives `test: ["NONE"]`). */
export interface HealthcheckInstruction extends InstructionBase {
  readonly kind: "HEALTHCHECK";
  readonly health: HealthConfig;
}

/** STOPSIGNAL. */
export interface StopSignalInstruction extends InstructionBase {
  readonly kind: "STOPSIGNAL";
  readonly signal: string;
}

/** ONBUILD: the trigger text, to be stored in the image config and parsed by child builds. */
export interface OnbuildInstruction extends InstructionBase {
  readonly kind: "ONBUILD";
  readonly expression: string;
}

/** MAINTAINER (deprecated). */
export interface MaintainerInstruction extends InstructionBase {
  readonly kind: "MAINTAINER";
  readonly maintainer: string;
}

/** Instruction is any typed Dockerfile instruction, discriminated by `kind`. */
export type Instruction =
  | FromInstruction
  | RunInstruction
  | CopyInstruction
  | AddInstruction
  | CmdInstruction
  | EntrypointInstruction
  | ShellInstruction
  | EnvInstruction
  | LabelInstruction
  | ArgInstruction
  | ExposeInstruction
  | WorkdirInstruction
  | UserInstruction
  | VolumeInstruction
  | HealthcheckInstruction
  | StopSignalInstruction
  | OnbuildInstruction
  | MaintainerInstruction;

/** Command is an instruction that belongs inside a stage (anything but FROM). */
export type Command = Exclude<Instruction, FromInstruction>;

/**
 * EXPANDING_INSTRUCTIONS are the instructions whose arguments the builder runs through word
 * expansion (`Lex`), per the Dockerfile reference: ADD, COPY, ENV, EXPOSE, FROM, LABEL,
 * STOPSIGNAL, USER, VOLUME, WORKDIR, ONBUILD (its trigger, when it runs), plus ARG defaults.
 * RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK and MAINTAINER are not expanded: the shell in the
 * container does that (in shell form) or nothing does (exec form).
 */
export const EXPANDING_INSTRUCTIONS: ReadonlySet<Instruction["kind"]> = new Set([
  "ADD",
  "ARG",
  "COPY",
  "ENV",
  "EXPOSE",
  "FROM",
  "LABEL",
  "ONBUILD",
  "STOPSIGNAL",
  "USER",
  "VOLUME",
  "WORKDIR",
]);
