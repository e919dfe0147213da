/**
 * filters: docker's `--filter key=value` flags into the `filters` map the client encodes.
 *
 * @since 0.1.0
 */
import { StatusError } from "../Command.ts";

/** parseFilters turns repeated `key=value` into `{ key: [values] }`; throws docker's message. */
export function parseFilters(values: readonly string[]): Record<string, string[]> | undefined {
  if (values.length === 0) return undefined;
  const out: Record<string, string[]> = {};
  for (const v of values) {
    const eq = v.indexOf("=");
    if (eq <= 0) throw new StatusError(`bad format of filter (expected name=value)`, 125);
    const key = v.slice(0, eq).trim().toLowerCase();
    const value = v.slice(eq + 1).trim();
    out[key] = [...(out[key] ?? []), value];
  }
  return out;
}

/** FORMAT_USAGE is the help text of `--format` on list commands. */
export const FORMAT_USAGE =
  "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates";
