/**
 * `berth compose run`: a one-off container of a service (`PROJECT-SERVICE-run-ID`, labelled
 * oneoff, dependencies brought up first unless `--no-deps`), attached like `berth start -a`,
 * exiting with the command's code; `-d` prints its name instead.
 *
 * @since 0.1.0
 */

import { shellSplit } from "@berth/compose";
import { parseCommandLine } from "../Command.ts";
import { bool, list, str } from "../FlagParser.ts";
import type { ComposeSubcommand } from "./composeContext.ts";

/** subcommand is `berth compose run`. */
export const subcommand: ComposeSubcommand = {
  spec: {
    name: "compose run",
    use: "[OPTIONS] SERVICE [COMMAND] [ARGS...]",
    short: "Run a one-off command on a service",
    flags: [
      {
        name: "detach",
        short: "d",
        type: "bool",
        usage: "Run container in background and print container ID",
      },
      { name: "entrypoint", type: "string", usage: "Override the entrypoint of the image" },
      { name: "env", short: "e", type: "list", valueName: "stringArray", usage: "Set environment variables" },
      {
        name: "interactive",
        short: "i",
        type: "bool",
        usage: "Keep STDIN open even if not attached",
        defaultText: "true",
      },
      { name: "name", type: "string", usage: "Assign a name to the container" },
      {
        name: "no-TTY",
        short: "T",
        type: "bool",
        usage: "Disable pseudo-TTY allocation (default: auto-detected)",
      },
      { name: "no-deps", type: "bool", usage: "Don't start linked services" },
      { name: "rm", type: "bool", usage: "Automatically remove the container when it exits" },
      {
        name: "service-ports",
        short: "P",
        type: "bool",
        usage: "Run command with all service's ports enabled and mapped to the host",
      },
      { name: "user", short: "u", type: "string", usage: "Run as specified username or uid" },
      { name: "workdir", short: "w", type: "string", usage: "Working directory inside the container" },
    ],
    args: { kind: "min", n: 1 },
    interspersed: false,
  },
  async run(ctx) {
    const p = ctx.parsed;
    const [service, ...cmd] = p.args as [string, ...string[]];
    const compose = await ctx.compose();
    const detach = bool(p, "detach");
    const tty = !detach && !bool(p, "no-TTY") && process.stdin.isTTY === true;
    const interactive = !detach && (bool(p, "interactive") || process.stdin.isTTY === true);
    const env: Record<string, string> = {};
    for (const e of list(p, "env")) {
      const i = e.indexOf("=");
      if (i === -1) {
        const v = process.env[e];
        if (v !== undefined) env[e] = v;
      } else env[e.slice(0, i)] = e.slice(i + 1);
    }
    const entrypoint = str(p, "entrypoint");
    const { id, name } = await compose.createOneOff(service, {
      ...(cmd.length > 0 ? { command: cmd } : {}),
      ...(entrypoint !== undefined ? { entrypoint: shellSplit(entrypoint) } : {}),
      env,
      tty,
      interactive,
      ...(str(p, "name") ? { name: str(p, "name") as string } : {}),
      ...(str(p, "user") ? { user: str(p, "user") as string } : {}),
      ...(str(p, "workdir") ? { workdir: str(p, "workdir") as string } : {}),
      ...(bool(p, "service-ports") ? { servicePorts: true } : {}),
      ...(bool(p, "no-deps") ? { noDeps: true } : {}),
      ...(bool(p, "rm") ? { rm: true } : {}),
    });
    const client = await ctx.inv.client();
    if (detach) {
      await client.containerStart(id);
      process.stdout.write(`${name}\n`);
      return 0;
    }
    const { command } = await import("./start.ts");
    const line = parseCommandLine("berth start", command.spec, ["-a", ...(interactive ? ["-i"] : []), id]);
    if (line.help) return 0;
    return command.run({ ...ctx.inv, path: "berth start", spec: command.spec, parsed: line.parsed });
  },
};
