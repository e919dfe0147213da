import { InvalidArgument } from "@berth/errdefs";
import { type Filters, matchAny, matchLabels, validateFilterKeys } from "./filters.ts";
import type { ContainerRecord } from "./types.ts";

/** Options of a container listing, as docker's `GET /containers/json` query. */
export interface ListOptions {
  all?: boolean;
  limit?: number;
  /** Resolves an image reference to its ID for the `ancestor` filter; undefined when unknown. */
  resolveImage?: (ref: string) => string | undefined;
  filters?: Filters;
  /** The health word of a container (`starting`, `healthy`, `unhealthy`, `none`) for the `health` filter. */
  healthOf?: (id: string) => string;
}

const ACCEPTED = [
  "id",
  "name",
  "label",
  "status",
  "exited",
  "ancestor",
  "before",
  "since",
  "network",
  "health",
  "is-task",
  "volume",
  "publish",
  "expose",
  "isolation",
];
const STATUSES = ["created", "restarting", "running", "removing", "paused", "exited", "dead"];

/**
 * listContainers applies docker's listing rules: newest first; only running ones unless `all` (or a
 * `limit`, `before`, `since` or status/exited filter that implies all); filters ANDed across keys and
 * ORed within a key.
 */
export function listContainers(records: ContainerRecord[], opts: ListOptions = {}): ContainerRecord[] {
  const f = opts.filters ?? {};
  validateFilterKeys(f, ACCEPTED);
  for (const s of f.status ?? []) {
    if (!STATUSES.includes(s)) throw new InvalidArgument(`invalid filter 'status=${s}'`);
  }
  for (const h of f.health ?? []) {
    if (!["starting", "healthy", "unhealthy", "none"].includes(h))
      throw new InvalidArgument(`Unrecognised filter value for health: ${h}`);
  }
  for (const e of f.exited ?? []) {
    if (!/^-?\d+$/.test(e)) throw new InvalidArgument(`invalid filter 'exited=${e}'`);
  }
  const sorted = [...records].sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
  const byRef = (ref: string): ContainerRecord | undefined =>
    sorted.find((c) => c.id === ref || c.name === ref.replace(/^\//, "")) ??
    sorted.find((c) => c.id.startsWith(ref));
  const before = f.before?.[0] !== undefined ? byRef(f.before[0]) : undefined;
  const since = f.since?.[0] !== undefined ? byRef(f.since[0]) : undefined;
  if (f.before?.[0] !== undefined && !before) throw new InvalidArgument(`No such container: ${f.before[0]}`);
  if (f.since?.[0] !== undefined && !since) throw new InvalidArgument(`No such container: ${f.since[0]}`);
  const showAll =
    opts.all === true ||
    (opts.limit !== undefined && opts.limit > 0) ||
    f.status !== undefined ||
    f.exited !== undefined ||
    before !== undefined ||
    since !== undefined;
  const ancestors = (f.ancestor ?? []).map((a) => opts.resolveImage?.(a) ?? `unknown:${a}`);
  const out = sorted.filter((c) => {
    // As docker: restarting and paused containers count as running.
    const up = c.state.status === "running" || c.state.status === "paused" || c.state.status === "restarting";
    if (!showAll && !up) return false;
    if (!matchAny(f.id, (v) => c.id.startsWith(v))) return false;
    if (!matchAny(f.name, (v) => safeRegExp(v).test(c.name) || safeRegExp(v).test(`/${c.name}`)))
      return false;
    if (!matchLabels(f.label, c.config.Labels)) return false;
    if (!matchAny(f.status, (v) => v === c.state.status)) return false;
    if (f.exited && !(c.state.status === "exited" && f.exited.some((v) => Number(v) === c.state.exitCode)))
      return false;
    if (ancestors.length > 0 && !ancestors.includes(c.image)) return false;
    if (before && !(c.created < before.created)) return false;
    if (since && !(c.created > since.created)) return false;
    if (
      !matchAny(
        f.network,
        (v) => v === c.hostConfig.NetworkMode || (v === "none" && c.hostConfig.NetworkMode === "default"),
      )
    )
      return false;
    if (!matchAny(f.health, (v) => v === (opts.healthOf?.(c.id) ?? "none"))) return false;
    if (!matchAny(f["is-task"], (v) => v === "false")) return false;
    return true;
  });
  return opts.limit !== undefined && opts.limit > 0 ? out.slice(0, opts.limit) : out;
}

function safeRegExp(pattern: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch {
    throw new InvalidArgument(`invalid filter 'name=${pattern}': not a valid regular expression`);
  }
}
