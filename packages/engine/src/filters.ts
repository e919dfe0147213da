import { InvalidArgument } from "@berth/errdefs";

/** Filters are docker's `filters` argument after decoding: key -> accepted values. */
export type Filters = Record<string, string[]>;

/**
 * parseFiltersJSON decodes docker's `filters` query parameter. Both wire forms are accepted:
 * `{"status":{"running":true}}` (current) and `{"status":["running"]}` (API < 1.22).
 */
export function parseFiltersJSON(raw: string | undefined): Filters {
  if (raw === undefined || raw === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new InvalidArgument(`invalid filter: expected JSON, found ${JSON.stringify(raw.slice(0, 60))}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidArgument("invalid filter: expected a JSON object of filter names to values");
  }
  const out: Filters = {};
  for (const [key, v] of Object.entries(value)) {
    if (Array.isArray(v)) out[key] = v.map(String);
    else if (typeof v === "object" && v !== null)
      out[key] = Object.keys(v).filter((k) => (v as Record<string, unknown>)[k]);
    else throw new InvalidArgument(`invalid filter '${key}': expected a list or a set of values`);
  }
  return out;
}

/** validateFilterKeys throws docker's error for a key that a listing does not support. */
export function validateFilterKeys(filters: Filters, accepted: readonly string[]): void {
  for (const key of Object.keys(filters)) {
    if (!accepted.includes(key)) throw new InvalidArgument(`invalid filter '${key}'`);
  }
}

/** matchLabels implements docker's `label=key` and `label=key=value` filter (all must match). */
export function matchLabels(
  wanted: string[] | undefined,
  labels: Record<string, string> | null | undefined,
): boolean {
  if (!wanted || wanted.length === 0) return true;
  const have = labels ?? {};
  return wanted.every((w) => {
    const eq = w.indexOf("=");
    if (eq < 0) return Object.hasOwn(have, w);
    return have[w.slice(0, eq)] === w.slice(eq + 1);
  });
}

/** matchAny is true when no values are wanted or when `pred` holds for one of them. */
export function matchAny(wanted: string[] | undefined, pred: (value: string) => boolean): boolean {
  if (!wanted || wanted.length === 0) return true;
  return wanted.some(pred);
}
