/**
 * BuildDisplay renders `berth build` progress. `plain` writes the classic builder's lines as they
 * come (what `DOCKER_BUILDKIT=0 docker build` prints). `tty` draws a live view like BuildKit's tty
 * mode on a terminal: one line per step with its timer, `CACHED` for cache hits, the last output
 * lines of the running step under it, finished steps collapsed to their line, redrawn in place
 * ten times a second. Steps are recognised from the classic stream (`Step N/M : ...`), which the
 * daemon sends in Dockerfile order even when stages run concurrently.
 *
 * @since 0.1.0
 */

/** ProgressMode is `--progress` after `auto` is resolved. */
export type ProgressMode = "plain" | "tty";

interface StepView {
  readonly label: string;
  readonly started: number;
  ended?: number;
  cached: boolean;
  failed: boolean;
  readonly output: string[];
}

/** How many output lines of the running step the tty view shows. */
const TAIL_LINES = 6;

/** resolveProgressMode picks `tty` for `auto` when `stream` is a terminal (and TERM is not dumb). */
export function resolveProgressMode(flag: string, stream: NodeJS.WriteStream): ProgressMode {
  if (flag === "plain" || flag === "tty") return flag;
  return stream.isTTY === true && process.env.TERM !== "dumb" ? "tty" : "plain";
}

/** BuildDisplay is one build's progress output; call `text` per stream chunk and `end` once. */
export class BuildDisplay {
  readonly #mode: ProgressMode;
  readonly #out: NodeJS.WriteStream;
  readonly #start = Date.now();
  readonly #steps: StepView[] = [];
  #partial = "";
  #drawn = 0;
  #timer: NodeJS.Timeout | undefined;
  #total = 0;
  /** `Successfully built/tagged` lines, printed under the final frame. */
  readonly #results: string[] = [];

  constructor(mode: ProgressMode, out: NodeJS.WriteStream) {
    this.#mode = mode;
    this.#out = out;
    if (mode === "tty") {
      this.#timer = setInterval(() => this.#draw(), 100);
      this.#timer.unref();
    }
  }

  /** text takes one `stream` chunk of the build's JSON lines. */
  text(chunk: string): void {
    if (this.#mode === "plain") {
      this.#out.write(chunk);
      return;
    }
    const lines = (this.#partial + chunk).split("\n");
    this.#partial = lines.pop() ?? "";
    for (const line of lines) this.#line(line);
  }

  /** end stops the live view and draws the final state; after a failure the failed step's output stays visible. */
  end(ok: boolean): void {
    if (this.#mode === "plain") return;
    if (this.#partial !== "") this.#line(this.#partial);
    if (this.#timer !== undefined) clearInterval(this.#timer);
    const cur = this.#steps[this.#steps.length - 1];
    if (cur !== undefined && cur.ended === undefined) {
      cur.ended = Date.now();
      cur.failed = !ok;
    }
    this.#draw(true);
    for (const l of this.#results) this.#out.write(`${l}\n`);
    if (!ok && cur !== undefined) {
      for (const l of cur.output) this.#out.write(`${l}\n`);
    }
  }

  #line(raw: string): void {
    const line = raw.replace(/\r$/, "");
    const m = /^Step (\d+)\/(\d+) : (.*)$/.exec(line);
    if (m !== null) {
      this.#finishCurrent();
      this.#total = Number(m[2]);
      this.#steps.push({
        label: `[${m[1]}/${m[2]}] ${m[3]}`,
        started: Date.now(),
        cached: false,
        failed: false,
        output: [],
      });
      return;
    }
    const cur = this.#steps[this.#steps.length - 1];
    if (line === " ---> Using cache") {
      if (cur !== undefined) cur.cached = true;
      return;
    }
    if (/^ ---> (Running in )?[0-9a-f]{12}$/.test(line) || line.startsWith("Removing intermediate container"))
      return;
    if (line.startsWith("Successfully built ") || line.startsWith("Successfully tagged ")) {
      this.#finishCurrent();
      this.#results.push(line);
      return;
    }
    if (cur === undefined || line === "") return;
    cur.output.push(line);
    if (cur.output.length > 200) cur.output.splice(0, cur.output.length - 200);
  }

  #finishCurrent(): void {
    const cur = this.#steps[this.#steps.length - 1];
    if (cur !== undefined && cur.ended === undefined) cur.ended = Date.now();
  }

  #draw(final = false): void {
    const width = Math.max(40, this.#out.columns ?? 80);
    const now = Date.now();
    const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
    const done = this.#steps.filter((s) => s.ended !== undefined).length;
    const rows: string[] = [
      `[+] Building ${secs(now - this.#start)} (${done}/${this.#total || this.#steps.length})${final ? " FINISHED" : ""}`,
    ];
    for (const s of this.#steps) {
      const time = secs((s.ended ?? now) - s.started);
      const head = ` => ${s.failed ? "ERROR " : s.cached ? "CACHED " : ""}${s.label}`;
      rows.push(fit(head, time, width));
      if (s.ended === undefined || s.failed) {
        for (const l of s.output.slice(-TAIL_LINES)) rows.push(fit(` => => # ${l}`, "", width));
      }
    }
    let frame = "";
    if (this.#drawn > 0) frame += `\x1b[${this.#drawn}A`;
    for (const r of rows) frame += `\x1b[2K${r}\n`;
    // A shorter frame than the last one: clear what is left below.
    for (let i = rows.length; i < this.#drawn; i++) frame += "\x1b[2K\n";
    if (this.#drawn > rows.length) frame += `\x1b[${this.#drawn - rows.length}A`;
    this.#drawn = rows.length;
    this.#out.write(frame);
  }
}

/** fit pads `left` and right-aligns `right` in `width` columns, cutting `left` if needed. */
function fit(left: string, right: string, width: number): string {
  const room = width - right.length - 1;
  const l = left.length > room ? `${left.slice(0, Math.max(0, room - 3))}...` : left;
  return right === "" ? l : `${l.padEnd(room)} ${right}`;
}
