/**
 * commonFlags: the flag specs several commands share word for word (docker defines them once in
 * cli/command/formatter and cli/command/container too).
 *
 * @since 0.1.0
 */
import type { FlagSpec } from "../FlagParser.ts";

/** FILTER_FLAG is `-f, --filter` of the list commands (`ps`, `images`). */
export const FILTER_FLAG: FlagSpec = {
  name: "filter",
  short: "f",
  type: "list",
  valueName: "filter",
  usage: "Filter output based on conditions provided",
};

/** LIST_FORMAT_FLAG is `--format` of the list commands, which also take `table`. */
export const LIST_FORMAT_FLAG: FlagSpec = {
  name: "format",
  type: "string",
  usage: "Format output using a custom template ('table', 'table TEMPLATE', 'json', 'TEMPLATE')",
};

/** NO_TRUNC_FLAG is `--no-trunc` of the list commands. */
export const NO_TRUNC_FLAG: FlagSpec = { name: "no-trunc", type: "bool", usage: "Don't truncate output" };

/** OBJECT_FORMAT_FLAG is `-f, --format` of the commands that print one object (`inspect`, `info`, `version`). */
export const OBJECT_FORMAT_FLAG: FlagSpec = {
  name: "format",
  short: "f",
  type: "string",
  usage: "Format output using a custom template ('json', 'TEMPLATE')",
};

/** PRUNE_FILTER_FLAG is `--filter` of the prune commands (no short form: `-f` is --force there). */
export const PRUNE_FILTER_FLAG: FlagSpec = {
  name: "filter",
  type: "list",
  valueName: "filter",
  usage: 'Provide filter values (e.g. "until=<timestamp>")',
};

/** FORCE_FLAG is `-f, --force` of the prune commands. */
export const FORCE_FLAG: FlagSpec = {
  name: "force",
  short: "f",
  type: "bool",
  usage: "Do not prompt for confirmation",
};
