/**
 * composeLogPrinter: compose's log prefixes (`web-1  | line`), one colour per container on a
 * TTY (as docker compose cycles through them), none otherwise.
 *
 * @since 0.1.0
 */
import type { LogLine } from "@berth/compose";

const COLOURS = [36, 33, 32, 35, 34, 96, 93, 92, 95, 94];

/** LogPrinter formats and writes log lines; `names` fixes the prefix width up front. */
export class LogPrinter {
  private readonly colour = new Map<string, number>();
  private width: number;

  constructor(
    private readonly project: string,
    names: readonly string[],
    private readonly opts: { colour?: boolean; prefix?: boolean } = {},
  ) {
    this.width = Math.max(0, ...names.map((n) => this.label(n).length));
  }

  /** label shortens `project-web-1` to `web-1`. */
  label(container: string): string {
    return container.startsWith(`${this.project}-`) ? container.slice(this.project.length + 1) : container;
  }

  /** format renders one line (without the newline). */
  format(l: LogLine): string {
    if (this.opts.prefix === false) return l.line;
    const label = this.label(l.container);
    this.width = Math.max(this.width, label.length);
    const prefix = `${label.padEnd(this.width)}  | `;
    if (!(this.opts.colour ?? process.stdout.isTTY === true)) return prefix + l.line;
    let c = this.colour.get(l.container);
    if (c === undefined) {
      c = COLOURS[this.colour.size % COLOURS.length] as number;
      this.colour.set(l.container, c);
    }
    return `\x1b[${c}m${prefix}\x1b[0m${l.line}`;
  }

  /** write prints one line to stdout. */
  write(l: LogLine): void {
    process.stdout.write(`${this.format(l)}\n`);
  }
}
