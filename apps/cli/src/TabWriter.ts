/**
 * TabWriter: Go's text/tabwriter (as docker uses it: minwidth 10, tabwidth 1, padding 3, pad with
 * spaces, no flags) for aligning tab-separated cells into columns.
 *
 * Semantics copied from Go: a cell is text terminated by a tab; the last cell of a line is not
 * part of any column. A column block is a run of consecutive lines that all have a terminated
 * cell at that index; each block is as wide as its widest cell plus padding (at least minwidth).
 * A line with a single cell ends every open block. Widths are counted in code points.
 *
 * @since 0.1.0
 */

/** TabWriterOptions mirror tabwriter.NewWriter's parameters. */
export interface TabWriterOptions {
  readonly minWidth?: number;
  readonly padding?: number;
}

type Line = string[];

function width(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** formatTable aligns `text` (lines of tab-separated cells) exactly as Go's tabwriter would. */
export function formatTable(text: string, options: TabWriterOptions = {}): string {
  const minWidth = options.minWidth ?? 10;
  const padding = options.padding ?? 3;
  let out = "";
  // Split into segments ended by lines with a single cell (Go flushes there).
  const rawLines = text.split("\n");
  const trailing = rawLines.pop() ?? "";
  let pending: Line[] = [];
  const widths: number[] = [];

  const writeLines = (lines: Line[], from: number, to: number, newline: boolean[]): void => {
    for (let i = from; i < to; i++) {
      const line = lines[i] as Line;
      for (let j = 0; j < line.length; j++) {
        const cell = line[j] as string;
        out += cell;
        if (j < widths.length) out += " ".repeat(Math.max(0, (widths[j] as number) - width(cell)));
      }
      if (newline[i]) out += "\n";
    }
  };

  const format = (lines: Line[], line0: number, line1: number, newline: boolean[]): void => {
    const column = widths.length;
    for (let t = line0; t < line1; t++) {
      if (column >= (lines[t] as Line).length - 1) continue;
      writeLines(lines, line0, t, newline);
      line0 = t;
      let w = minWidth;
      for (; t < line1; t++) {
        const line = lines[t] as Line;
        if (column >= line.length - 1) break;
        const cw = width(line[column] as string) + padding;
        if (cw > w) w = cw;
      }
      widths.push(w);
      format(lines, line0, t, newline);
      widths.pop();
      line0 = t;
      t--; // the outer loop's t++ re-examines line t
    }
    writeLines(lines, line0, line1, newline);
  };

  const flush = (lines: Line[], lastHasNewline: boolean): void => {
    const newline = lines.map((_, i) => i < lines.length - 1 || lastHasNewline);
    format(lines, 0, lines.length, newline);
  };

  for (const raw of rawLines) {
    const cells = raw.split("\t");
    pending.push(cells);
    if (cells.length === 1) {
      flush(pending, true);
      pending = [];
    }
  }
  if (trailing !== "") {
    pending.push(trailing.split("\t"));
    flush(pending, false);
  } else if (pending.length > 0) {
    flush(pending, true);
  }
  return out;
}
