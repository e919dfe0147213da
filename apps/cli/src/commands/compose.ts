/**
 * `berth compose`: docker compose's command language over @berth/compose. This module parses
 * the project options that come before the subcommand and hands the rest to the subcommand's
 * own module (loaded lazily), each of which parses its own flags.
 *
 * @since 0.1.0
 */
import { type CommandModule, helpText, parseCommandLine, StatusError } from "../Command.ts";
import { list, str } from "../FlagParser.ts";
import { type ComposeSubcommand, makeContext } from "./composeContext.ts";

type Loader = () => Promise<{ subcommand: ComposeSubcommand }>;

const SUBCOMMANDS: Record<string, { load: Loader; short: string }> = {
  build: { load: () => import("./composeBuild.ts"), short: "Build or rebuild services" },
  config: {
    load: () => import("./composeConfig.ts"),
    short: "Parse, resolve and render compose file in canonical format",
  },
  create: { load: () => import("./composeCreate.ts"), short: "Creates containers for a service" },
  down: { load: () => import("./composeDown.ts"), short: "Stop and remove containers, networks" },
  exec: { load: () => import("./composeExec.ts"), short: "Execute a command in a running container" },
  logs: { load: () => import("./composeLogs.ts"), short: "View output from containers" },
  kill: { load: () => import("./composeKill.ts"), short: "Force stop service containers" },
  ls: { load: () => import("./composeLs.ts"), short: "List running compose projects" },
  pause: { load: () => import("./composePause.ts"), short: "Pause services" },
  port: { load: () => import("./composePort.ts"), short: "Print the public port for a port binding" },
  ps: { load: () => import("./composePs.ts"), short: "List containers" },
  pull: { load: () => import("./composePull.ts"), short: "Pull service images" },
  push: { load: () => import("./composePush.ts"), short: "Push service images" },
  restart: { load: () => import("./composeRestart.ts"), short: "Restart service containers" },
  rm: { load: () => import("./composeRm.ts"), short: "Removes stopped service containers" },
  run: { load: () => import("./composeRun.ts"), short: "Run a one-off command on a service" },
  start: { load: () => import("./composeStart.ts"), short: "Start services" },
  stop: { load: () => import("./composeStop.ts"), short: "Stop services" },
  unpause: { load: () => import("./composeUnpause.ts"), short: "Unpause services" },
  up: { load: () => import("./composeUp.ts"), short: "Create and start containers" },
  version: { load: () => import("./composeVersion.ts"), short: "Show the Berth Compose version information" },
};

/** command is `berth compose`. */
export const command: CommandModule = {
  spec: {
    name: "compose",
    use: "[OPTIONS] COMMAND",
    short: "Define and run multi-container applications with Berth",
    flags: [
      {
        name: "file",
        short: "f",
        type: "list",
        valueName: "stringArray",
        usage: "Compose configuration files",
      },
      { name: "project-name", short: "p", type: "string", usage: "Project name" },
      {
        name: "env-file",
        type: "list",
        valueName: "stringArray",
        usage: "Specify an alternate environment file",
      },
      { name: "profile", type: "list", valueName: "stringArray", usage: "Specify a profile to enable" },
      {
        name: "project-directory",
        type: "string",
        usage:
          "Specify an alternate working directory (default: the path of the, first specified, Compose file)",
      },
      {
        name: "ansi",
        type: "string",
        usage: 'Control when to print ANSI control characters ("never"|"always"|"auto")',
        defaultText: '"auto"',
      },
      { name: "progress", type: "string", usage: "Set type of progress output (auto, tty, plain, quiet)" },
      {
        name: "compatibility",
        type: "bool",
        usage: "Run compose in backward compatibility mode",
        hidden: true,
      },
    ],
    args: { kind: "any" },
    interspersed: false,
  },
  async run(inv) {
    const p = inv.parsed;
    const [sub, ...rest] = p.args;
    if (sub === undefined || sub === "help") {
      process.stdout.write(composeHelp(inv.spec));
      return 0;
    }
    const entry = SUBCOMMANDS[sub];
    if (!entry) throw new StatusError(`unknown docker command: "compose ${sub}"`, 1);
    const { subcommand } = await entry.load();
    const path = `berth compose ${sub}`;
    const line = parseCommandLine(path, subcommand.spec, rest);
    if (line.help) {
      process.stdout.write(helpText(path, subcommand.spec));
      return 0;
    }
    const flags = {
      files: list(p, "file"),
      projectName: str(p, "project-name"),
      envFiles: list(p, "env-file"),
      profiles: list(p, "profile"),
      projectDirectory: str(p, "project-directory"),
    };
    return subcommand.run(makeContext(path, line.parsed, flags, inv));
  },
};

function composeHelp(spec: CommandModule["spec"]): string {
  let out = helpText("berth compose", spec).replace(/\n*$/, "\n");
  out += "\nCommands:\n";
  for (const [name, e] of Object.entries(SUBCOMMANDS)) out += `  ${name.padEnd(12)}${e.short}\n`;
  out += "\nRun 'berth compose COMMAND --help' for more information on a command.\n";
  return out;
}
