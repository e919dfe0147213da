/**
 * `berth stats`: `GET /containers/{id}/stats` per container, as docker's table (or `--format`);
 * `--no-stream` prints one table (stream=0: the daemon waits for a second sample so CPU % is
 * real), otherwise the table is redrawn every second from the streamed samples.
 *
 * @since 0.1.0
 */
import type { Client } from "@berth/client";
import type { CommandModule } from "../Command.ts";
import { describeError } from "../daemonError.ts";
import { bool, str } from "../FlagParser.ts";
import { renderRows } from "../Formatter.ts";
import { STATS_TABLE, type StatsSample, statsRow } from "../StatsRow.ts";

const HEADER = {
  ID: "CONTAINER ID",
  Container: "CONTAINER",
  Name: "NAME",
  CPUPerc: "CPU %",
  MemUsage: "MEM USAGE / LIMIT",
  MemPerc: "MEM %",
  NetIO: "NET I/O",
  BlockIO: "BLOCK I/O",
  PIDs: "PIDS",
};

async function listNames(client: Client, all: boolean): Promise<string[]> {
  const res = await client.request("GET", "/containers/json", { query: all ? { all: 1 } : {} });
  const list = JSON.parse(res.body.toString("utf8")) as Array<{ Id: string }>;
  return list.map((c) => c.Id.slice(0, 12));
}

/** command is `berth stats`. */
export const command: CommandModule = {
  spec: {
    name: "stats",
    use: "[OPTIONS] [CONTAINER...]",
    short: "Display a live stream of container(s) resource usage statistics",
    aliases: ["container stats", "stats"],
    flags: [
      { name: "all", short: "a", type: "bool", usage: "Show all containers (default shows just running)" },
      { name: "format", type: "string", usage: "Format output using a custom template" },
      { name: "no-stream", type: "bool", usage: "Disable streaming stats and only pull the first result" },
      { name: "no-trunc", type: "bool", usage: "Do not truncate output" },
    ],
    args: { kind: "any" },
  },
  async run(inv) {
    const client = await inv.client();
    const format = str(inv.parsed, "format") || STATS_TABLE;
    const fmt = format === "table" ? STATS_TABLE : format;
    const names =
      inv.parsed.args.length > 0 ? inv.parsed.args : await listNames(client, bool(inv.parsed, "all"));
    const noTrunc = bool(inv.parsed, "no-trunc");
    const row = (name: string, s: StatsSample) => {
      const r = statsRow(name, s);
      return noTrunc ? { ...r, ID: s.id ?? r.ID } : r;
    };
    if (bool(inv.parsed, "no-stream")) {
      const results = await Promise.allSettled(
        names.map(async (n) => {
          const res = await client.request("GET", `/containers/${encodeURIComponent(n)}/stats`, {
            query: { stream: 0 },
          });
          return JSON.parse(res.body.toString("utf8")) as StatsSample;
        }),
      );
      const errors: string[] = [];
      const rows = [];
      for (const [i, r] of results.entries()) {
        if (r.status === "fulfilled") rows.push(row(names[i] as string, r.value));
        else errors.push(describeError(r.reason));
      }
      process.stdout.write(renderRows(fmt, rows, HEADER));
      if (errors.length > 0) {
        process.stderr.write(`${errors.join("\n")}\n`);
        return 1;
      }
      return 0;
    }
    const latest = new Map<string, StatsSample>();
    const streams = names.map(async (n) => {
      const res = await client.requestStream("GET", `/containers/${encodeURIComponent(n)}/stats`, {
        query: { stream: 1 },
      });
      let buf = "";
      for await (const chunk of res) {
        buf += (chunk as Buffer).toString("utf8");
        let nl = buf.indexOf("\n");
        while (nl >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line !== "") latest.set(n, JSON.parse(line) as StatsSample);
          nl = buf.indexOf("\n");
        }
      }
      latest.delete(n);
    });
    let done = false;
    void Promise.allSettled(streams).then(() => {
      done = true;
    });
    const draw = () => {
      const rows = names.filter((n) => latest.has(n)).map((n) => row(n, latest.get(n) as StatsSample));
      const text = renderRows(fmt, rows, HEADER).replace(/\n/g, "\x1b[K\n");
      process.stdout.write(`\x1b[H\x1b[J${text}`);
    };
    process.stdout.write("\x1b[2J");
    while (!done) {
      await new Promise((r) => setTimeout(r, 1000));
      draw();
    }
    return 0;
  },
};
