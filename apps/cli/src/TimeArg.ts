/**
 * TimeArg: docker's `--since`/`--until` values (timetypes.GetTimestamp): a Go duration relative to
 * now (`10m`, `1h30m`), an RFC3339 date or date-time (local time when no zone is given), or a unix
 * timestamp (`1700000000`, `1700000000.123`), turned into the string the Engine API expects.
 *
 * @since 0.1.0
 */

import { parseGoDuration } from "@berth/api";

/** getTimestamp converts a since/until argument into the API's `seconds[.nanoseconds]` form. */
export function getTimestamp(value: string, now: Date = new Date()): string {
  const d = parseGoDuration(value);
  if (value !== "0" && d !== undefined) {
    return String(Math.floor((now.getTime() - d / 1e6) / 1000));
  }
  if (/^\d+(\.\d{1,9})?$/.test(value)) return value;
  if (value.includes("-")) {
    const hasZone = /[zZ+]/.test(value) || (value.match(/-/g) ?? []).length === 3;
    let iso = value;
    if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) iso += "T00:00:00";
    else if (/T\d{2}$/.test(iso)) iso += ":00:00";
    else if (/T\d{2}:\d{2}$/.test(iso)) iso += ":00";
    const fracMatch = /\.(\d+)/.exec(iso);
    const ms = hasZone ? Date.parse(iso) : Date.parse(iso.replace(/Z$/i, ""));
    if (Number.isNaN(ms)) {
      throw new Error(`parsing time ${JSON.stringify(value)}: cannot parse as RFC3339`);
    }
    const seconds = Math.floor(ms / 1000);
    const nanos = fracMatch ? (fracMatch[1] as string).slice(0, 9).padEnd(9, "0") : "000000000";
    return `${seconds}.${nanos}`;
  }
  throw new Error(`failed to parse value as time or duration: ${JSON.stringify(value)}`);
}
