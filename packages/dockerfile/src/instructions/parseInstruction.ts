import { DockerfileError, SourceText } from "../DockerfileError.ts";
import { chompHeredocContent, parseHeredoc } from "../parser/heredoc.ts";
import { type Node, nodeArgs } from "../parser/Node.ts";
import type { ParseResult } from "../parser/parse.ts";
import { withSuggestion } from "../suggest.ts";
import { Flags, InstructionError } from "./Flags.ts";
import type {
  AddInstruction,
  ArgDefinition,
  CopyInstruction,
  HealthcheckInstruction,
  Instruction,
  InstructionBase,
  KeyValue,
  RunInstruction,
  SourceContent,
} from "./Instruction.ts";
import { parseDuration } from "./parseDuration.ts";
import { parseMount } from "./parseMount.ts";

/** INSTRUCTION_NAMES lists every Dockerfile keyword, upper-case. */
export const INSTRUCTION_NAMES: readonly string[] = [
  "ADD",
  "ARG",
  "CMD",
  "COPY",
  "ENTRYPOINT",
  "ENV",
  "EXPOSE",
  "FROM",
  "HEALTHCHECK",
  "LABEL",
  "MAINTAINER",
  "ONBUILD",
  "RUN",
  "SHELL",
  "STOPSIGNAL",
  "USER",
  "VOLUME",
  "WORKDIR",
];

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

interface Request {
  readonly node: Node;
  readonly args: string[];
  readonly flags: Flags;
  readonly json: boolean;
  readonly base: InstructionBase;
}

const fail = (message: string): never => {
  throw new InstructionError(message);
};
const atLeastOne = (c: string) => fail(`${c} requires at least one argument`);
const exactlyOne = (c: string) => fail(`${c} requires exactly one argument`);

/**
 * parseInstruction turns one AST instruction node into a typed instruction. Throws
 * DockerfileError (located at the node) for unknown instructions (with a did-you-mean),
 * bad flags and wrong argument counts.
 */
export function parseInstruction(node: Node, source?: SourceText): Instruction {
  try {
    return parseNode(node);
  } catch (err) {
    if (!(err instanceof InstructionError)) throw err;
    const location =
      source?.location(node.startLine, node.endLine) ??
      ({
        file: "Dockerfile",
        line: node.startLine,
        endLine: node.endLine,
        column: 1,
        sourceLine: node.original,
      } as const);
    throw new DockerfileError(err.message, location);
  }
}

/** parseInstructions types every instruction of a parse result, in order. */
export function parseInstructions(result: ParseResult): Instruction[] {
  const src = new SourceText(result.file, result.text);
  return result.ast.children.map((n) => parseInstruction(n, src));
}

function parseNode(node: Node): Instruction {
  const req: Request = {
    node,
    args: nodeArgs(node),
    flags: new Flags(node.flags),
    json: node.attributes.json === true,
    base: { keyword: node.value, original: node.original, startLine: node.startLine, endLine: node.endLine },
  };
  const { args, flags, base } = req;
  switch (node.value.toUpperCase()) {
    case "FROM": {
      flags.declare("platform", "string").parse();
      let name: string | undefined;
      if (args.length === 3 && args[1]?.toLowerCase() === "as") {
        name = (args[2] ?? "").toLowerCase();
        if (!STAGE_NAME.test(name)) {
          fail(
            `invalid name for build stage: "${args[2]}", name can't start with a number or contain symbols`,
          );
        }
      } else if (args.length !== 1) {
        fail("FROM requires either one or three arguments");
      }
      const platform = flags.string("platform");
      return {
        kind: "FROM",
        ...base,
        image: args[0] ?? "",
        ...(name !== undefined && { name }),
        ...(platform !== undefined && { platform }),
      };
    }
    case "RUN":
      return parseRun(req);
    case "CMD":
    case "ENTRYPOINT": {
      flags.parse();
      let cmd = shellArgs(req);
      if (node.value.toUpperCase() === "ENTRYPOINT" && cmd.length === 0) cmd = [];
      return {
        kind: node.value.toUpperCase() as "CMD" | "ENTRYPOINT",
        ...base,
        cmd,
        prependShell: !req.json,
      };
    }
    case "SHELL": {
      flags.parse();
      const shell = shellArgs(req);
      if (shell.length === 0) atLeastOne("SHELL");
      if (!req.json) fail(`SHELL requires the arguments to be in JSON form`);
      return { kind: "SHELL", ...base, shell };
    }
    case "ENV":
      flags.parse();
      return { kind: "ENV", ...base, env: keyValues(args, "ENV") };
    case "LABEL":
      flags.parse();
      return { kind: "LABEL", ...base, labels: keyValues(args, "LABEL") };
    case "ARG": {
      if (args.length < 1) atLeastOne("ARG");
      const defs: ArgDefinition[] = args.map((a) => {
        const eq = a.indexOf("=");
        if (eq < 0) return { key: a };
        if (eq === 0) fail("ARG names can not be blank");
        return { key: a.slice(0, eq), value: a.slice(eq + 1) };
      });
      return { kind: "ARG", ...base, args: defs };
    }
    case "COPY":
      return parseCopy(req);
    case "ADD":
      return parseAdd(req);
    case "EXPOSE":
      if (args.length === 0) atLeastOne("EXPOSE");
      flags.parse();
      return { kind: "EXPOSE", ...base, ports: [...args].sort() };
    case "WORKDIR":
      if (args.length !== 1) exactlyOne("WORKDIR");
      flags.parse();
      return { kind: "WORKDIR", ...base, path: args[0] ?? "" };
    case "USER":
      if (args.length !== 1) exactlyOne("USER");
      flags.parse();
      return { kind: "USER", ...base, user: args[0] ?? "" };
    case "VOLUME": {
      if (args.length === 0) atLeastOne("VOLUME");
      flags.parse();
      const volumes = args.map((v) => v.trim());
      if (volumes.includes("")) fail("VOLUME specified can not be an empty string");
      return { kind: "VOLUME", ...base, volumes };
    }
    case "STOPSIGNAL":
      if (args.length !== 1) exactlyOne("STOPSIGNAL");
      return { kind: "STOPSIGNAL", ...base, signal: args[0] ?? "" };
    case "MAINTAINER":
      if (args.length !== 1) exactlyOne("MAINTAINER");
      flags.parse();
      return { kind: "MAINTAINER", ...base, maintainer: args[0] ?? "" };
    case "HEALTHCHECK":
      return parseHealthcheck(req);
    case "ONBUILD": {
      if (args.length === 0) atLeastOne("ONBUILD");
      flags.parse();
      const trigger = (args[0] ?? "").trim().toUpperCase();
      if (trigger === "ONBUILD") fail("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
      if (trigger === "MAINTAINER" || trigger === "FROM")
        fail(`${trigger} isn't allowed as an ONBUILD trigger`);
      let expression = node.original.replace(/^\s*ONBUILD\s*/i, "");
      for (const h of node.heredocs) expression += `\n${h.content}${h.name}`;
      return { kind: "ONBUILD", ...base, expression };
    }
    default:
      throw new InstructionError(
        withSuggestion(`unknown instruction: ${node.value}`, node.value, INSTRUCTION_NAMES, false),
      );
  }
}

function shellArgs(req: Request): string[] {
  if (req.args.length === 0) return [];
  return req.json ? req.args : [req.args.join(" ")];
}

function keyValues(args: string[], cmd: string): KeyValue[] {
  if (args.length === 0) atLeastOne(cmd);
  if (args.length % 3 !== 0) fail(`Bad input to ${cmd}, too many arguments`);
  const out: KeyValue[] = [];
  for (let i = 0; i < args.length; i += 3) {
    const key = args[i] ?? "";
    if (key === "") fail(`${cmd} names can not be blank`);
    out.push({ key, value: args[i + 1] ?? "", noDelim: args[i + 2] === "" });
  }
  return out;
}

function parseRun(req: Request): RunInstruction {
  const { flags, node } = req;
  flags.declare("mount", "strings").declare("network", "string").declare("security", "string").parse();
  const mountSpecs = flags.strings("mount");
  const network = flags.string("network");
  if (network !== undefined && network !== "default" && network !== "none" && network !== "host") {
    fail(`invalid network mode "${network}"`);
  }
  const security = flags.string("security");
  if (security !== undefined && security !== "sandbox" && security !== "insecure") {
    fail(`security ${security} is not valid`);
  }
  return {
    kind: "RUN",
    ...req.base,
    cmdLine: shellArgs(req),
    prependShell: !req.json,
    mounts: mountSpecs.map((m) => parseMount(m)),
    mountSpecs,
    ...(network !== undefined && { network: network as "default" | "none" | "host" }),
    ...(security !== undefined && { security: security as "sandbox" | "insecure" }),
    heredocs: node.heredocs.map((h) => ({ name: h.name, data: h.content, chomp: h.chomp, expand: h.expand })),
    flagsUsed: flags.used(),
  };
}

function sourcesAndDest(
  req: Request,
  cmd: string,
): { sources: string[]; dest: string; heredocs: SourceContent[] } {
  const srcs = req.args.slice(0, -1);
  const dest = req.args[req.args.length - 1] ?? "";
  if (parseHeredoc(dest) !== undefined) fail(`${cmd} cannot accept a heredoc as a destination`);
  const bodies = new Map(req.node.heredocs.map((h) => [h.name, h]));
  const sources: string[] = [];
  const heredocs: SourceContent[] = [];
  for (const s of srcs) {
    const h = parseHeredoc(s);
    if (h === undefined) {
      sources.push(s);
      continue;
    }
    let data = bodies.get(h.name)?.content ?? "";
    if (h.chomp) data = chompHeredocContent(data);
    heredocs.push({ path: h.name, data, expand: h.expand });
  }
  return { sources, dest, heredocs };
}

function parseCopy(req: Request): CopyInstruction {
  const { flags } = req;
  if (req.args.length < 2) {
    fail(
      "COPY requires at least two arguments, but only one was provided. Destination could not be determined",
    );
  }
  flags
    .declare("chown", "string")
    .declare("from", "string")
    .declare("chmod", "string")
    .declare("link", "bool")
    .declare("exclude", "strings")
    .declare("parents", "bool")
    .parse();
  const from = flags.string("from");
  const chown = flags.string("chown");
  const chmod = flags.string("chmod");
  return {
    kind: "COPY",
    ...req.base,
    ...sourcesAndDest(req, "COPY"),
    ...(from !== undefined && from !== "" && { from }),
    ...(chown !== undefined && chown !== "" && { chown }),
    ...(chmod !== undefined && chmod !== "" && { chmod }),
    link: flags.bool("link") === true,
    parents: flags.bool("parents") === true,
    exclude: flags.strings("exclude"),
  };
}

function parseAdd(req: Request): AddInstruction {
  const { flags } = req;
  if (req.args.length < 2) {
    fail(
      "ADD requires at least two arguments, but only one was provided. Destination could not be determined",
    );
  }
  flags
    .declare("chown", "string")
    .declare("chmod", "string")
    .declare("link", "bool")
    .declare("keep-git-dir", "bool")
    .declare("checksum", "string")
    .declare("unpack", "bool")
    .declare("exclude", "strings")
    .parse();
  const chown = flags.string("chown");
  const chmod = flags.string("chmod");
  const checksum = flags.string("checksum");
  const keepGitDir = flags.bool("keep-git-dir");
  const unpack = flags.bool("unpack");
  return {
    kind: "ADD",
    ...req.base,
    ...sourcesAndDest(req, "ADD"),
    ...(chown !== undefined && chown !== "" && { chown }),
    ...(chmod !== undefined && chmod !== "" && { chmod }),
    ...(checksum !== undefined && checksum !== "" && { checksum }),
    ...(keepGitDir !== undefined && { keepGitDir }),
    ...(unpack !== undefined && { unpack }),
    link: flags.bool("link") === true,
    exclude: flags.strings("exclude"),
  };
}

function interval(flags: Flags, name: string): number {
  const s = flags.string(name) ?? "";
  if (s === "") return 0;
  let d: number;
  try {
    d = parseDuration(s);
  } catch (err) {
    return fail((err as Error).message);
  }
  if (d === 0) return 0;
  if (d < 1e6) fail(`Interval "${name}" cannot be less than 1ms`);
  return d;
}

function parseHealthcheck(req: Request): HealthcheckInstruction {
  const { args, flags } = req;
  if (args.length === 0) atLeastOne("HEALTHCHECK");
  let typ = (args[0] ?? "").toUpperCase();
  const rest = args.slice(1);
  const none = { interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 };
  if (typ === "NONE") {
    if (rest.length !== 0) fail("HEALTHCHECK NONE takes no arguments");
    return { kind: "HEALTHCHECK", ...req.base, health: { test: ["NONE"], ...none } };
  }
  flags
    .declare("interval", "string")
    .declare("timeout", "string")
    .declare("start-period", "string")
    .declare("start-interval", "string")
    .declare("retries", "string")
    .parse();
  if (typ !== "CMD") fail(`Unknown type "${typ}" in HEALTHCHECK (try CMD)`);
  const cmd = req.json ? rest : rest.length === 0 ? [] : [rest.join(" ")];
  if (cmd.length === 0) fail("Missing command after HEALTHCHECK CMD");
  if (!req.json) typ = "CMD-SHELL";
  let retries = 0;
  const r = flags.string("retries") ?? "";
  if (r !== "") {
    if (!/^[+-]?\d+$/.test(r) || Math.abs(Number(r)) > 2 ** 31 - 1) {
      fail(`strconv.ParseInt: parsing "${r}": invalid syntax`);
    }
    retries = Number(r);
    if (retries < 0) fail(`--retries cannot be negative (${retries})`);
  }
  return {
    kind: "HEALTHCHECK",
    ...req.base,
    health: {
      test: [typ, ...cmd],
      interval: interval(flags, "interval"),
      timeout: interval(flags, "timeout"),
      startPeriod: interval(flags, "start-period"),
      startInterval: interval(flags, "start-interval"),
      retries,
    },
  };
}
