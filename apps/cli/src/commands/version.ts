/**
 * `berth version`: the Client section (berth's version, the negotiated API version) and the
 * Server section from `GET /version`, laid out as docker v28 prints them; `--format` runs a
 * template over `{ Client, Server }`.
 *
 * @since 0.1.0
 */

import type { SystemVersion } from "@berth/api";
import { API_VERSION } from "@berth/api";
import { type CommandModule, StatusError } from "../Command.ts";
import { describeError } from "../daemonError.ts";
import { str } from "../FlagParser.ts";
import { renderObject } from "../Formatter.ts";
import { OBJECT_FORMAT_FLAG } from "./commonFlags.ts";

/** CLI_VERSION is reported as the client version. */
export const CLI_VERSION = "0.1.0";

/** ansicTime renders an ISO time as Go's time.ANSIC (`Thu May  7 21:09:36 2026`), else returns it. */
export function ansicTime(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const d = new Date(t);
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (n: number) => String(n).padStart(2, "0");
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, " ")} ${p(
    d.getUTCHours(),
  )}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

function detail(details: Record<string, unknown> | null | undefined, key: string): string {
  const v = details?.[key];
  return v === undefined || v === null ? "" : String(v);
}

/** formatServer renders docker's Server section. */
export function formatServer(v: SystemVersion): string {
  let out = `\nServer:${v.Platform?.Name ? ` ${v.Platform.Name}` : ""}`;
  const components = v.Components ?? [
    {
      Name: "Engine",
      Version: v.Version ?? "",
      Details: {
        ApiVersion: v.ApiVersion,
        MinAPIVersion: v.MinAPIVersion,
        GoVersion: v.GoVersion,
        GitCommit: v.GitCommit,
        BuildTime: v.BuildTime,
        Os: v.Os,
        Arch: v.Arch,
        Experimental: String(v.Experimental ?? false),
      },
    },
  ];
  for (const c of components) {
    out += `\n ${c.Name}:`;
    const d = c.Details;
    if (c.Name === "Engine") {
      out += `\n  Version:          ${c.Version}`;
      out += `\n  API version:      ${detail(d, "ApiVersion")} (minimum version ${detail(d, "MinAPIVersion")})`;
      out += `\n  Go version:       ${detail(d, "GoVersion")}`;
      out += `\n  Git commit:       ${detail(d, "GitCommit")}`;
      out += `\n  Built:            ${ansicTime(detail(d, "BuildTime"))}`;
      out += `\n  OS/Arch:          ${detail(d, "Os")}/${detail(d, "Arch")}`;
      out += `\n  Experimental:     ${detail(d, "Experimental")}`;
    } else {
      out += `\n  Version:          ${c.Version}`;
      for (const key of Object.keys(d ?? {}).sort()) {
        out += `\n  ${key}:${" ".repeat(Math.max(0, 17 - key.length))}${detail(d, key)}`;
      }
    }
  }
  return `${out}\n`;
}

/** command is `berth version`. */
export const command: CommandModule = {
  spec: {
    name: "version",
    use: "[OPTIONS]",
    short: "Show the Berth version information",
    flags: [OBJECT_FORMAT_FLAG],
    args: { kind: "none" },
  },
  async run(inv) {
    const client = await inv.client();
    let server: SystemVersion | undefined;
    let serverErr: unknown;
    let api = API_VERSION;
    try {
      api = await client.apiVersion();
      server = await client.version();
    } catch (err) {
      serverErr = err;
    }
    const clientInfo = {
      Version: CLI_VERSION,
      ApiVersion: api,
      DefaultAPIVersion: API_VERSION,
      NodeVersion: process.version,
      Os: process.platform,
      Arch: process.arch === "x64" ? "amd64" : process.arch,
      Context: "default",
    };
    const format = str(inv.parsed, "format");
    if (format !== undefined && format !== "") {
      process.stdout.write(renderObject(format, { Client: clientInfo, Server: server ?? null }));
    } else {
      const downgraded = api !== API_VERSION ? ` (downgraded from ${API_VERSION})` : "";
      let out = "Client:\n";
      out += ` Version:           ${CLI_VERSION}\n`;
      out += ` API version:       ${api}${downgraded}\n`;
      out += ` Node version:      ${process.version}\n`;
      out += ` OS/Arch:           ${clientInfo.Os}/${clientInfo.Arch}\n`;
      out += ` Context:           default\n`;
      if (server) out += formatServer(server);
      process.stdout.write(out);
    }
    if (serverErr !== undefined) throw new StatusError(describeError(serverErr), 1);
    return 0;
  },
};
