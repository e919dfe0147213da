/**
 * `berth compose port`: the public `host:port` of a service's private port.
 *
 * @since 0.1.0
 */
import { StatusError } from "../Command.ts";
import { int, str } from "../FlagParser.ts";
import type { ComposeSubcommand } from "./composeContext.ts";

/** subcommand is `berth compose port`. */
export const subcommand: ComposeSubcommand = {
  spec: {
    name: "compose port",
    use: "[OPTIONS] SERVICE PRIVATE_PORT",
    short: "Print the public port for a port binding",
    flags: [
      {
        name: "index",
        type: "int",
        usage: "Index of the container if service has multiple replicas",
        defaultText: "1",
      },
      { name: "protocol", type: "string", usage: "tcp or udp", defaultText: '"tcp"' },
    ],
    args: { kind: "exact", n: 2 },
  },
  async run(ctx) {
    const [service, port] = ctx.parsed.args as [string, string];
    const compose = await ctx.compose({ quiet: true });
    const index = int(ctx.parsed, "index");
    const protocol = str(ctx.parsed, "protocol");
    const out = await compose.port(service, port, {
      ...(index === undefined ? {} : { index }),
      ...(protocol === undefined ? {} : { protocol }),
    });
    if (out === undefined)
      throw new StatusError(`no port ${port}/${protocol ?? "tcp"} for container ${service}`, 1);
    process.stdout.write(`${out}\n`);
    return 0;
  },
};
