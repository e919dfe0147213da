/**
 * parsePorts: a service's `ports` entry (short `"[ip:][host[-range]:]container[-range][/proto]"`
 * or long syntax) to long-syntax {@link PortConfig}s; ranges expand to one entry per port.
 *
 * @since 0.1.0
 */
import { InvalidArgument } from "@berth/errdefs";
import type { PortConfig } from "./Project.ts";

function range(text: string, what: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m)
    throw new InvalidArgument(`invalid ${what} port ${JSON.stringify(text)}, expected a number or a range`);
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (a > 65535 || b > 65535 || b < a) {
    throw new InvalidArgument(`invalid ${what} port range ${JSON.stringify(text)}`);
  }
  return [a, b];
}

/** parsePort expands one ports entry. */
export function parsePort(entry: unknown): PortConfig[] {
  if (typeof entry === "number") return [{ mode: "ingress", target: entry, protocol: "tcp" }];
  if (entry !== null && typeof entry === "object") {
    const e = entry as Record<string, unknown>;
    const p: PortConfig = {
      mode: typeof e.mode === "string" ? e.mode : "ingress",
      target: Number(e.target),
      protocol: typeof e.protocol === "string" ? e.protocol : "tcp",
    };
    if (e.name !== undefined) p.name = String(e.name);
    if (e.host_ip !== undefined) p.host_ip = String(e.host_ip);
    if (e.published !== undefined && e.published !== null && e.published !== "")
      p.published = String(e.published);
    if (e.app_protocol !== undefined) p.app_protocol = String(e.app_protocol);
    return [p];
  }
  const text = String(entry);
  let rest = text;
  let protocol = "tcp";
  const slash = rest.lastIndexOf("/");
  if (slash !== -1) {
    protocol = rest.slice(slash + 1);
    rest = rest.slice(0, slash);
  }
  let hostIp: string | undefined;
  let hostPart: string | undefined;
  let containerPart: string;
  // [ip]:host:container with IPv6 in brackets
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(rest);
  if (v6) {
    hostIp = v6[1];
    rest = v6[2] as string;
  }
  const parts = rest.split(":");
  if (parts.length === 1) containerPart = parts[0] as string;
  else if (parts.length === 2) {
    hostPart = parts[0];
    containerPart = parts[1] as string;
  } else if (parts.length === 3 && !v6) {
    hostIp = parts[0];
    hostPart = parts[1];
    containerPart = parts[2] as string;
  } else {
    throw new InvalidArgument(
      `invalid port ${JSON.stringify(text)}, expected [ip:][host:]container[/protocol]`,
    );
  }
  const [c0, c1] = range(containerPart, "container");
  const count = c1 - c0 + 1;
  let h: [number, number] | undefined;
  if (hostPart !== undefined && hostPart !== "") {
    h = range(hostPart, "host");
    if (count > 1 && h[1] - h[0] + 1 !== count) {
      throw new InvalidArgument(
        `invalid port ${JSON.stringify(text)}: host and container ranges differ in size`,
      );
    }
  }
  const out: PortConfig[] = [];
  for (let i = 0; i < count; i++) {
    const p: PortConfig = { mode: "ingress", target: c0 + i, protocol };
    if (hostIp !== undefined && hostIp !== "") p.host_ip = hostIp;
    if (h !== undefined) {
      p.published = h[0] === h[1] ? String(h[0]) : count === 1 ? `${h[0]}-${h[1]}` : String(h[0] + i);
    }
    out.push(p);
  }
  return out;
}
