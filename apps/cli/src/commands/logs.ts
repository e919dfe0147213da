/**
 * `berth logs`: `GET /containers/{name}/json` (to learn whether it has a TTY), then
 * `GET /containers/{id}/logs?stdout=1&stderr=1&tail=all[&follow=1&since=&until=&timestamps=1]`,
 * writing stdout and stderr frames to the matching streams.
 *
 * @since 0.1.0
 */
import { type CommandModule, StatusError } from "../Command.ts";
import { bool, str } from "../FlagParser.ts";
import { getTimestamp } from "../TimeArg.ts";

/** command is `berth logs`. */
export const command: CommandModule = {
  spec: {
    name: "logs",
    use: "[OPTIONS] CONTAINER",
    short: "Fetch the logs of a container",
    aliases: ["container logs", "logs"],
    flags: [
      { name: "details", type: "bool", usage: "Show extra details provided to logs" },
      { name: "follow", short: "f", type: "bool", usage: "Follow log output" },
      {
        name: "since",
        type: "string",
        usage:
          'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)',
      },
      {
        name: "tail",
        short: "n",
        type: "string",
        usage: "Number of lines to show from the end of the logs",
        defaultText: '"all"',
      },
      { name: "timestamps", short: "t", type: "bool", usage: "Show timestamps" },
      {
        name: "until",
        type: "string",
        usage:
          'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)',
      },
    ],
    args: { kind: "exact", n: 1 },
  },
  async run(inv) {
    const p = inv.parsed;
    const now = new Date();
    let since: string | undefined;
    let until: string | undefined;
    try {
      const s = str(p, "since");
      const u = str(p, "until");
      if (s !== undefined && s !== "") since = getTimestamp(s, now);
      if (u !== undefined && u !== "") until = getTimestamp(u, now);
    } catch (err) {
      throw new StatusError((err as Error).message, 1);
    }
    const client = await inv.client();
    const c = await client.containerInspect(p.args[0] as string);
    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    try {
      for await (const chunk of client.containerLogs(c.Id ?? (p.args[0] as string), {
        stdout: true,
        stderr: true,
        tail: str(p, "tail") ?? "all",
        tty: c.Config?.Tty === true,
        signal: abort.signal,
        ...(bool(p, "follow") ? { follow: true } : {}),
        ...(bool(p, "timestamps") ? { timestamps: true } : {}),
        ...(since === undefined ? {} : { since }),
        ...(until === undefined ? {} : { until }),
      })) {
        if (chunk.stream === "stderr") process.stderr.write(chunk.data);
        else process.stdout.write(chunk.data);
      }
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    }
    return abort.signal.aborted ? 130 : 0;
  },
};
