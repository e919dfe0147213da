import { SourceText } from "../DockerfileError.ts";
import { byteLength, decodeSource } from "./decodeSource.ts";
import { type Directive, DirectiveParser } from "./directives.ts";
import { heredocsFromLine } from "./heredoc.ts";
import { LineParseError, newNodeFromLine } from "./lineParsers.ts";
import { type Node, newNode, trimLeftSpace, trimSpace } from "./Node.ts";

/** ParseOptions name the file for error messages. */
export interface ParseOptions {
  /** File name used in errors; default `Dockerfile`. */
  readonly file?: string;
}

/** Warning is a non-fatal finding, such as an empty continuation line. */
export interface Warning {
  readonly short: string;
  readonly detail: string;
  readonly url: string;
  readonly line: number;
}

/** ParseResult is the AST root (its children are the instructions) plus what the directives set. */
export interface ParseResult {
  readonly ast: Node;
  /** File name used in errors. */
  readonly file: string;
  /** The decoded source text. */
  readonly text: string;
  readonly escapeToken: string;
  readonly directives: readonly Directive[];
  readonly warnings: readonly Warning[];
}

/** MAX_LINE_BYTES is the longest physical line accepted (BuildKit's bufio.Scanner limit). */
export const MAX_LINE_BYTES = 65535;

const HEREDOC_KEYWORDS = new Set(["add", "copy", "run"]);

function continuationRegex(escapeToken: string): RegExp {
  const e = `\\${escapeToken}`;
  return new RegExp(`([^${e}])${e}[ \\t]*$|^${e}[ \\t]*$`);
}

function trimNewline(s: string): string {
  return s.replace(/[\r\n]+$/, "");
}

function isComment(s: string): boolean {
  return trimLeftSpace(s).startsWith("#");
}

function canContainHeredoc(node: Node): boolean {
  let n = node;
  const inner = n.next?.children[0];
  if (n.value.toLowerCase() === "onbuild" && inner !== undefined) n = inner;
  return HEREDOC_KEYWORDS.has(n.value.toLowerCase()) && n.attributes.json !== true;
}

/**
 * parse turns Dockerfile text into BuildKit's AST: directives, comments, line continuations,
 * JSON and shell forms, flags and heredoc bodies. It does not validate instructions (unknown
 * keywords are kept); see `parseInstructions` for that. Throws DockerfileError.
 */
export function parse(source: string | Uint8Array, options: ParseOptions = {}): ParseResult {
  const text = decodeSource(source);
  const src = new SourceText(options.file ?? "Dockerfile", text);
  // Physical lines with their endings, as bufio.Scanner with a line-ending-preserving split gives them.
  const raw = text.split(/(?<=\n)/).filter((l) => l !== "");
  let idx = 0;
  const scan = (): string | undefined => {
    const l = raw[idx];
    if (l === undefined) return undefined;
    if (byteLength(l.endsWith("\n") ? l.slice(0, -1) : l) > MAX_LINE_BYTES) {
      throw src.error(`dockerfile line greater than max allowed size of ${MAX_LINE_BYTES}`, idx + 1);
    }
    idx++;
    return l;
  };

  const dp = new DirectiveParser();
  const directives: Directive[] = [];
  let escapeToken = "\\";
  let contRe = continuationRegex(escapeToken);
  const processLine = (
    token: string,
    stripLeft: boolean,
    lineNo: number,
  ): { text: string; directive: boolean } => {
    let t = trimNewline(token);
    if (stripLeft) t = trimLeftSpace(t);
    let d: Directive | undefined;
    try {
      d = dp.parseLine(t);
    } catch (err) {
      throw src.error((err as Error).message, lineNo);
    }
    if (d !== undefined) {
      if (d.name === "escape") {
        if (d.value !== "`" && d.value !== "\\") {
          throw src.error(`invalid escape token '${d.value}' does not match \` or \\`, lineNo);
        }
        escapeToken = d.value;
        contRe = continuationRegex(escapeToken);
      }
      directives.push(d);
    }
    return { text: isComment(t) ? "" : t, directive: d !== undefined };
  };
  const trimContinuation = (line: string): { text: string; end: boolean } =>
    contRe.test(line) ? { text: line.replace(contRe, "$1"), end: false } : { text: line, end: true };

  const root = newNode({ startLine: -1 });
  const warnings: Warning[] = [];
  let comments: string[] = [];
  let currentLine = 0;

  for (let first = scan(); first !== undefined; first = scan()) {
    let bytesRead = currentLine === 0 ? first.replace(/^\ufeff/, "") : first;
    if (isComment(bytesRead)) {
      const c = trimSpace(bytesRead.slice(1));
      comments = c === "" ? [] : [...comments, c];
    }
    const processed = processLine(bytesRead, true, currentLine + 1);
    if (processed.directive) comments = comments.slice(0, -1);
    bytesRead = processed.text;
    currentLine++;
    const startLine = currentLine;
    let { text: part, end } = trimContinuation(bytesRead);
    if (end && part.length === 0) continue;
    let buf = part;
    let hasEmptyContinuation = false;
    while (!end) {
      const next = scan();
      if (next === undefined) break;
      const p = processLine(next, false, currentLine + 1);
      currentLine++;
      if (isComment(next)) continue;
      if (trimLeftSpace(trimNewline(p.text)).length === 0) {
        hasEmptyContinuation = true;
        continue;
      }
      ({ text: part, end } = trimContinuation(p.text));
      buf += part;
    }
    const line = buf;
    if (hasEmptyContinuation) {
      warnings.push({
        short: `Empty continuation line found in: ${line}`,
        detail: "Empty continuation lines will become errors in a future release",
        url: "https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/",
        line: currentLine,
      });
    }
    let child: Node;
    try {
      child = newNodeFromLine(line, escapeToken, comments);
    } catch (err) {
      if (err instanceof LineParseError) throw src.error(err.message, startLine, currentLine);
      throw err;
    }
    if (canContainHeredoc(child) && line.includes("<<")) {
      let docs: ReturnType<typeof heredocsFromLine>;
      try {
        docs = heredocsFromLine(line);
      } catch (err) {
        throw src.error((err as Error).message, startLine, currentLine);
      }
      for (const doc of docs) {
        let terminated = false;
        let content = doc.content;
        for (let l = scan(); l !== undefined; l = scan()) {
          currentLine++;
          let term = trimNewline(l);
          if (doc.chomp) term = term.replace(/^\t+/, "");
          if (term === doc.name) {
            terminated = true;
            break;
          }
          content += l;
        }
        if (!terminated) throw src.error("unterminated heredoc", startLine, currentLine);
        child.heredocs.push({ ...doc, content });
      }
    }
    child.startLine = startLine;
    child.endLine = currentLine;
    if (root.startLine < 0) root.startLine = startLine;
    root.endLine = currentLine;
    root.children.push(child);
    comments = [];
  }
  if (root.startLine < 0) throw src.error("file with no instructions", Math.max(1, currentLine));
  return { ast: root, file: src.file, text, escapeToken, directives, warnings };
}
