/**
 * `berth compose exec`: `berth exec` in a service's container (`--index`, default 1), with a
 * TTY by default as docker compose does (`-T` turns it off).
 *
 * @since 0.1.0
 */
import { NotFound } from "@berth/errdefs";
import { parseCommandLine } from "../Command.ts";
import { bool, int, list, str } from "../FlagParser.ts";
import type { ComposeSubcommand } from "./composeContext.ts";

/** subcommand is `berth compose exec`. */
export const subcommand: ComposeSubcommand = {
  spec: {
    name: "compose exec",
    use: "[OPTIONS] SERVICE COMMAND [ARGS...]",
    short: "Execute a command in a running container",
    flags: [
      { name: "detach", short: "d", type: "bool", usage: "Detached mode: Run command in the background" },
      { name: "env", short: "e", type: "list", valueName: "stringArray", usage: "Set environment variables" },
      {
        name: "index",
        type: "int",
        usage: "Index of the container if service has multiple replicas",
        defaultText: "1",
      },
      {
        name: "no-TTY",
        short: "T",
        type: "bool",
        usage: "Disable pseudo-TTY allocation. By default `docker compose exec` allocates a TTY.",
      },
      { name: "privileged", type: "bool", usage: "Give extended privileges to the process" },
      { name: "user", short: "u", type: "string", usage: "Run the command as this user" },
      { name: "workdir", short: "w", type: "string", usage: "Path to workdir directory for this command" },
    ],
    args: { kind: "min", n: 2 },
    interspersed: false,
  },
  async run(ctx) {
    const p = ctx.parsed;
    const [service, ...cmd] = p.args as [string, ...string[]];
    const compose = await ctx.compose({ quiet: true });
    const index = int(p, "index") ?? 1;
    const c = (await compose.containers({ services: [service], oneoff: false })).find(
      (x) => x.number === index,
    );
    if (!c) throw new NotFound(`service "${service}" is not running`);
    const tty = !bool(p, "no-TTY") && process.stdin.isTTY === true;
    const argv = [
      ...(bool(p, "detach") ? ["-d"] : ["-i"]),
      ...(tty && !bool(p, "detach") ? ["-t"] : []),
      ...(bool(p, "privileged") ? ["--privileged"] : []),
      ...(str(p, "user") ? ["-u", str(p, "user") as string] : []),
      ...(str(p, "workdir") ? ["-w", str(p, "workdir") as string] : []),
      ...list(p, "env").flatMap((e) => ["-e", e]),
      c.id,
      ...cmd,
    ];
    const { command } = await import("./exec.ts");
    const line = parseCommandLine("berth exec", command.spec, argv);
    if (line.help) return 0;
    return command.run({ ...ctx.inv, path: "berth exec", spec: command.spec, parsed: line.parsed });
  },
};
