import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

/** Ctx is one request as a handler sees it: decoded path params and query, and the way to answer. */
export interface Ctx {
  req: IncomingMessage;
  /** The response, for ordinary requests. */
  res: ServerResponse | undefined;
  /** The raw socket, for requests that asked to upgrade (attach, exec start). */
  upgrade: { socket: Duplex; head: Buffer } | undefined;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The API version this request speaks (negotiated from its `/vX.Y` prefix). */
  version: string;
}

export type Handler = (ctx: Ctx) => Promise<void> | void;

interface Route {
  method: string;
  parts: string[];
  handler: Handler;
}

/**
 * Router matches `METHOD /path/{param}` patterns. A `{name}` segment matches one segment; image
 * names contain slashes, so `{name*}` matches the rest of the path up to a fixed suffix.
 */
export class Router {
  readonly #routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler): this {
    this.#routes.push({ method, parts: pattern.split("/").filter(Boolean), handler });
    return this;
  }

  match(
    method: string,
    path: string,
  ): { handler: Handler; params: Record<string, string> } | "method" | undefined {
    const segs = path.split("/").filter(Boolean).map(safeDecode);
    let methodMismatch = false;
    for (const r of this.#routes) {
      const params = matchParts(r.parts, segs);
      if (!params) continue;
      if (r.method !== method && !(method === "HEAD" && r.method === "GET")) {
        methodMismatch = true;
        continue;
      }
      return { handler: r.handler, params };
    }
    return methodMismatch ? "method" : undefined;
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function matchParts(parts: string[], segs: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  const greedy = parts.findIndex((p) => p.endsWith("*}"));
  if (greedy < 0) {
    if (parts.length !== segs.length) return undefined;
    for (let i = 0; i < parts.length; i++) {
      if (!matchOne(parts[i]!, segs[i]!, params)) return undefined;
    }
    return params;
  }
  const suffix = parts.length - greedy - 1;
  if (segs.length < parts.length) return undefined;
  for (let i = 0; i < greedy; i++) if (!matchOne(parts[i]!, segs[i]!, params)) return undefined;
  for (let i = 0; i < suffix; i++) {
    if (!matchOne(parts[parts.length - 1 - i]!, segs[segs.length - 1 - i]!, params)) return undefined;
  }
  const name = parts[greedy]!.slice(1, -2);
  params[name] = segs.slice(greedy, segs.length - suffix).join("/");
  return params;
}

function matchOne(part: string, seg: string, params: Record<string, string>): boolean {
  if (part.startsWith("{") && part.endsWith("}")) {
    params[part.slice(1, -1)] = seg;
    return true;
  }
  return part === seg;
}
