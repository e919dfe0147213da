/**
 * Formatter: docker's list formatting (cli/command/formatter): `table` formats get a header row
 * rendered from the header names and go through the tab writer (minwidth 10, padding 3);
 * `json` means `{{json .}}`; anything else is a Go template printed once per row.
 *
 * @since 0.1.0
 */
import { StatusError } from "./Command.ts";
import { formatTable } from "./TabWriter.ts";
import { HEADER_FUNCS, Template, TemplateError } from "./Template.ts";

/** isTableFormat tells whether a format string is a table format. */
export function isTableFormat(format: string): boolean {
  return format.startsWith("table");
}

/** finalFormat applies docker's preFormat: strip `table`, map `json`, trim, expand `\t` `\n`. */
export function finalFormat(format: string): string {
  let f = format;
  if (isTableFormat(f)) f = f.slice("table".length);
  else if (f === "json") f = "{{json .}}";
  f = f.replace(/^ +| +$/g, "");
  return f.replace(/\\t/g, "\t").replace(/\\n/g, "\n");
}

/** parseTemplate parses a user template, mapping errors to docker's message (exit 1). */
export function parseTemplate(src: string): Template {
  try {
    return Template.parse(src);
  } catch (err) {
    if (err instanceof TemplateError)
      throw new StatusError(`template parsing error: template: :1: ${err.message}`, 1);
    throw err;
  }
}

/** executeTemplate runs a template, mapping errors to docker's message (exit 1). */
export function executeTemplate(tmpl: Template, data: unknown): string {
  try {
    return tmpl.execute(data);
  } catch (err) {
    if (err instanceof TemplateError)
      throw new StatusError(`template: :1: executing "" at <.>: ${err.message}`, 1);
    throw err;
  }
}

/**
 * listFormat picks a list command's format as docker does: `-q` means `{{.ID}}` whatever
 * `--format` says, an empty or bare `table` format means the command's default table, anything
 * else is the user's format.
 */
export function listFormat(userFormat: string, quiet: boolean, defaultTable: string): string {
  if (quiet) return "{{.ID}}";
  return userFormat === "" || userFormat === "table" ? defaultTable : userFormat;
}

/** renderObject renders one object with a `--format` value (`json` means `{{json .}}`), newline ended. */
export function renderObject(format: string, data: unknown): string {
  const tmpl = parseTemplate(format === "json" ? "{{json .}}" : format);
  return `${executeTemplate(tmpl, data)}\n`;
}

/**
 * renderRows renders `rows` (template contexts) with `format`; `header` maps field names to
 * column titles for table formats. Returns the full text to print.
 */
export function renderRows(
  format: string,
  rows: readonly unknown[],
  header: Readonly<Record<string, string>>,
): string {
  const tmpl = parseTemplate(finalFormat(format));
  let out = "";
  if (isTableFormat(format)) {
    try {
      out += tmpl.execute(header, HEADER_FUNCS);
    } catch {
      // docker ignores header rendering errors
    }
    out += "\n";
  }
  for (const row of rows) out += `${executeTemplate(tmpl, row)}\n`;
  return isTableFormat(format) ? formatTable(out) : out;
}
