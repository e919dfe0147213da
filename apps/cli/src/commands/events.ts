/**
 * `berth events [--since] [--until] [-f filter] [--format]`: `GET /events`, one line per event in
 * docker's pretty form (`2026-...Z container start ID (image=..., name=...)`) or through a
 * template (`json` prints the event as the daemon sent it). Runs until `--until` passes or the
 * user interrupts it.
 *
 * @since 0.1.0
 */
import type { CommandModule } from "../Command.ts";
import { StatusError } from "../Command.ts";
import { list, str } from "../FlagParser.ts";
import { executeTemplate, parseTemplate } from "../Formatter.ts";
import type { Template } from "../Template.ts";
import { getTimestamp } from "../TimeArg.ts";
import { parseFilters } from "./filters.ts";

/** WireEvent is one event as the daemon sends it. */
interface WireEvent {
  status?: string;
  id?: string;
  from?: string;
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> | null };
  scope?: string;
  time?: number;
  timeNano?: number;
}

/** rfc3339NanoFixed prints nanoseconds since the epoch as docker's `2006-01-02T15:04:05.000000000Z07:00`, local time. */
export function rfc3339NanoFixed(nanos: bigint): string {
  const ms = Number(nanos / 1_000_000n);
  const frac = (((nanos % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n).toString().padStart(9, "0");
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const local = new Date(ms + off * 60_000);
  const base = local.toISOString().slice(0, 19);
  const zone =
    off === 0
      ? "Z"
      : `${off > 0 ? "+" : "-"}${String(Math.floor(Math.abs(off) / 60)).padStart(2, "0")}:${String(Math.abs(off) % 60).padStart(2, "0")}`;
  return `${base}.${frac}${zone}`;
}

/** prettyEvent is docker's prettyPrintEvent line (without the newline). */
export function prettyEvent(ev: WireEvent, nanos: bigint | undefined): string {
  let out = "";
  if (nanos !== undefined && nanos !== 0n) out += `${rfc3339NanoFixed(nanos)} `;
  else if (ev.time) out += `${rfc3339NanoFixed(BigInt(ev.time) * 1_000_000_000n)} `;
  out += `${ev.Type} ${ev.Action} ${ev.Actor.ID}`;
  const attrs = ev.Actor.Attributes ?? {};
  const keys = Object.keys(attrs).sort();
  if (keys.length > 0) out += ` (${keys.map((k) => `${k}=${attrs[k]}`).join(", ")})`;
  return out;
}

/** templateContext is the event as docker's events.Message fields (`.ID`, `.Status`, `.Actor.Attributes`...). */
function templateContext(ev: WireEvent, nanos: string) {
  return {
    Status: ev.status ?? "",
    ID: ev.id ?? "",
    From: ev.from ?? "",
    Type: ev.Type,
    Action: ev.Action,
    Actor: { ID: ev.Actor.ID, Attributes: ev.Actor.Attributes ?? {} },
    Scope: ev.scope ?? "",
    Time: ev.time ?? 0,
    TimeNano: nanos,
  };
}

/** command is `berth events`. */
export const command: CommandModule = {
  spec: {
    name: "events",
    use: "[OPTIONS]",
    short: "Get real time events from the server",
    aliases: ["system events"],
    flags: [
      {
        name: "filter",
        short: "f",
        type: "list",
        valueName: "filter",
        usage: "Filter output based on conditions provided",
      },
      {
        name: "format",
        type: "string",
        usage:
          "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates",
      },
      { name: "since", type: "string", usage: "Show all events created since timestamp" },
      { name: "until", type: "string", usage: "Stream events until this timestamp" },
    ],
    args: { kind: "none" },
  },
  async run(inv) {
    const p = inv.parsed;
    const now = new Date();
    const query: Record<string, string> = {};
    try {
      const s = str(p, "since");
      const u = str(p, "until");
      if (s !== undefined && s !== "") query.since = getTimestamp(s, now);
      if (u !== undefined && u !== "") query.until = getTimestamp(u, now);
    } catch (err) {
      throw new StatusError((err as Error).message, 1);
    }
    const filters = parseFilters(list(p, "filter"));
    if (filters) query.filters = JSON.stringify(filters);
    const format = str(p, "format") ?? "";
    const raw = format === "json" || format === "{{json .}}";
    let tmpl: Template | undefined;
    if (format !== "" && !raw) {
      tmpl = parseTemplate(format);
      executeTemplate(tmpl, templateContext({ Type: "", Action: "", Actor: { ID: "" } }, "0"));
    }
    const client = await inv.client();
    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    try {
      const res = await client.requestStream("GET", "/events", { query, signal: abort.signal });
      let buf = "";
      const onLine = (line: string) => {
        if (line.trim() === "") return;
        const ev = JSON.parse(line) as WireEvent;
        const exact = /"timeNano":(\d+)/.exec(line)?.[1];
        const nanos = exact !== undefined ? BigInt(exact) : undefined;
        let out: string;
        if (raw) out = line.trim();
        else if (tmpl) out = executeTemplate(tmpl, templateContext(ev, nanos?.toString() ?? "0"));
        else out = prettyEvent(ev, nanos);
        process.stdout.write(`${out}\n`);
      };
      try {
        for await (const chunk of res) {
          buf += (chunk as Buffer).toString("utf8");
          let nl = buf.indexOf("\n");
          while (nl >= 0) {
            onLine(buf.slice(0, nl));
            buf = buf.slice(nl + 1);
            nl = buf.indexOf("\n");
          }
        }
      } catch (err) {
        if (!abort.signal.aborted) throw err;
      }
      if (buf.trim() !== "") onLine(buf);
    } catch (err) {
      if (abort.signal.aborted) return 0;
      throw err;
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    }
    return 0;
  },
};
