/**
 * `berth compose logs`: every container's output, prefixed with its name (coloured on a TTY),
 * interleaved as it arrives; `-f` follows until Ctrl-C.
 *
 * @since 0.1.0
 */
import { bool, str } from "../FlagParser.ts";
import type { ComposeSubcommand } from "./composeContext.ts";
import { LogPrinter } from "./composeLogPrinter.ts";

/** subcommand is `berth compose logs`. */
export const subcommand: ComposeSubcommand = {
  spec: {
    name: "compose logs",
    use: "[OPTIONS] [SERVICE...]",
    short: "View output from containers",
    flags: [
      { name: "follow", short: "f", type: "bool", usage: "Follow log output" },
      { name: "no-color", type: "bool", usage: "Produce monochrome output" },
      { name: "no-log-prefix", type: "bool", usage: "Don't print prefix in logs" },
      {
        name: "tail",
        short: "n",
        type: "string",
        usage: "Number of lines to show from the end of the logs for each container",
        defaultText: '"all"',
      },
      { name: "timestamps", short: "t", type: "bool", usage: "Show timestamps" },
    ],
    args: { kind: "any" },
  },
  async run(ctx) {
    const p = ctx.parsed;
    const compose = await ctx.compose({ quiet: true });
    const cs = await compose.containers({ services: p.args, oneoff: false });
    const printer = new LogPrinter(
      compose.project.name,
      cs.map((c) => c.name),
      {
        ...(bool(p, "no-color") ? { colour: false } : {}),
        ...(bool(p, "no-log-prefix") ? { prefix: false } : {}),
      },
    );
    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    try {
      for await (const line of compose.logs({
        services: p.args,
        tail: str(p, "tail") ?? "all",
        signal: abort.signal,
        ...(bool(p, "follow") ? { follow: true } : {}),
        ...(bool(p, "timestamps") ? { timestamps: true } : {}),
      })) {
        printer.write(line);
      }
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    }
    return 0;
  },
};
