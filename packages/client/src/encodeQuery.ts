/** QueryValue is what a query parameter may be; undefined drops it, an array repeats it. */
export type QueryValue = string | number | boolean | undefined | readonly string[];

/**
 * encodeQuery renders query parameters the way the docker CLI does: `true` as "1", `false` as "0",
 * arrays as repeated keys, undefined dropped, keys sorted. Returns "" or "?a=1&b=2".
 */
export function encodeQuery(query: Readonly<Record<string, QueryValue>> | undefined): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const k of Object.keys(query).sort()) {
    const v = query[k];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const item of v as readonly string[]) params.append(k, item);
    else if (typeof v === "boolean") params.append(k, v ? "1" : "0");
    else params.append(k, String(v));
  }
  const s = params.toString();
  return s === "" ? "" : `?${s}`;
}

/** encodeFilters renders docker's `filters` JSON (`{"label":{"a=b":true}}` style is not needed: arrays work). */
export function encodeFilters(
  filters: Readonly<Record<string, readonly string[]>> | undefined,
): string | undefined {
  if (!filters) return undefined;
  const keys = Object.keys(filters).filter((k) => (filters[k]?.length ?? 0) > 0);
  if (keys.length === 0) return undefined;
  return JSON.stringify(Object.fromEntries(keys.map((k) => [k, filters[k]])));
}
