import { isSpace, type Node, newNode, trimLeftSpace } from "./Node.ts";
import { quoteGo } from "./quoteGo.ts";
import { splitCommand, WHITESPACE } from "./splitCommand.ts";

/** LineParseError is a problem in one logical line; `parse` adds the location. */
export class LineParseError extends Error {}

type Attrs = Node["attributes"];
type LineParser = (rest: string, escapeToken: string) => { next: Node | undefined; attrs: Attrs };

const none = { next: undefined, attrs: {} };

/** newNodeFromLine splits a logical line and builds its instruction node (no line numbers yet). */
export function newNodeFromLine(line: string, escapeToken: string, comments: string[]): Node {
  const { cmd, flags, args } = splitCommand(line, escapeToken);
  const fn = DISPATCH.get(cmd.toLowerCase()) ?? parseIgnore;
  const { next, attrs } = fn(args, escapeToken);
  return newNode({ value: cmd, original: line, flags, next, attributes: attrs, prevComment: comments });
}

function chain(values: string[]): Node | undefined {
  let head: Node | undefined;
  for (let i = values.length - 1; i >= 0; i--) head = newNode({ value: values[i] ?? "", next: head });
  return head;
}

function parseIgnore(): { next: Node | undefined; attrs: Attrs } {
  return { next: newNode(), attrs: {} };
}

function parseSubCommand(rest: string, escapeToken: string) {
  if (rest === "") return none;
  const child = newNodeFromLine(rest, escapeToken, []);
  return { next: newNode({ children: [child] }), attrs: {} };
}

/**
 * parseWords splits on unquoted Unicode whitespace, keeping quotes and escape characters in the
 * words (they are removed later by the lexer); a trailing escape character is dropped.
 */
export function parseWords(rest: string, escapeToken: string): string[] {
  const chars = Array.from(rest);
  const words: string[] = [];
  let phase: "spaces" | "word" | "quote" = "spaces";
  let quote = "";
  let blankOK = false;
  let word = "";
  for (let pos = 0; pos <= chars.length; pos++) {
    const atEnd = pos === chars.length;
    let ch = chars[pos] ?? "";
    if (phase === "spaces") {
      if (atEnd) break;
      if (isSpace(ch)) continue;
      phase = "word";
    }
    if (atEnd) {
      if (blankOK || word.length > 0) words.push(word);
      break;
    }
    if (phase === "word") {
      if (isSpace(ch)) {
        phase = "spaces";
        if (blankOK || word.length > 0) words.push(word);
        word = "";
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = "quote";
      }
      if (ch === escapeToken) {
        if (pos + 1 === chars.length) continue;
        word += ch;
        pos++;
        ch = chars[pos] ?? "";
      }
      word += ch;
      continue;
    }
    if (ch === quote) phase = "word";
    if (ch === escapeToken && quote !== "'") {
      if (pos + 1 === chars.length) {
        phase = "word";
        continue;
      }
      pos++;
      word += ch;
      ch = chars[pos] ?? "";
    }
    word += ch;
  }
  return words;
}

function keyValue(key: string, value: string, sep: string): Node[] {
  return [newNode({ value: key }), newNode({ value }), newNode({ value: sep })];
}

function parseNameVal(
  rest: string,
  key: string,
  escapeToken: string,
): { next: Node | undefined; attrs: Attrs } {
  const words = parseWords(rest, escapeToken);
  const [first] = words;
  if (first === undefined) return none;
  let nodes: Node[];
  if (!first.includes("=")) {
    const m = WHITESPACE.exec(rest);
    if (m === null) throw new LineParseError(`${key} must have two arguments`);
    nodes = keyValue(rest.slice(0, m.index), rest.slice(m.index + m[0].length), "");
  } else {
    nodes = [];
    for (const w of words) {
      const eq = w.indexOf("=");
      if (eq < 0) {
        throw new LineParseError(
          `Syntax error - can't find = in ${quoteGo(w)}. Must be of the form: name=value`,
        );
      }
      nodes.push(...keyValue(w.slice(0, eq), w.slice(eq + 1), "="));
    }
  }
  for (let i = 0; i + 1 < nodes.length; i++) (nodes[i] as Node).next = nodes[i + 1];
  return { next: nodes[0], attrs: {} };
}

function parseNameOrNameVal(rest: string, escapeToken: string) {
  return { next: chain(parseWords(rest, escapeToken)), attrs: {} };
}

function parseStringsWhitespaceDelimited(rest: string) {
  if (rest === "") return none;
  return { next: chain(rest.split(WHITESPACE)), attrs: {} };
}

function parseString(rest: string) {
  if (rest === "") return none;
  return { next: newNode({ value: rest }), attrs: {} };
}

const NOT_STRINGS = "when using JSON array syntax, arrays must be comprised of strings only";

/** parseJSON returns the array's strings, undefined if `rest` is not a JSON array; throws for non-string elements. */
export function parseJSON(rest: string): string[] | undefined {
  const t = trimLeftSpace(rest);
  if (!t.startsWith("[")) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(t);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  for (const v of parsed) if (typeof v !== "string") throw new LineParseError(NOT_STRINGS);
  return parsed as string[];
}

function parseMaybeJSON(rest: string) {
  if (rest === "") return none;
  const arr = parseJSON(rest);
  if (arr !== undefined) return { next: chain(arr), attrs: { json: true } };
  return { next: newNode({ value: rest }), attrs: {} };
}

function parseMaybeJSONToList(rest: string) {
  const arr = parseJSON(rest);
  if (arr !== undefined) return { next: chain(arr), attrs: { json: true } };
  return parseStringsWhitespaceDelimited(rest);
}

function parseHealthConfig(rest: string) {
  let sep = 0;
  while (sep < rest.length && !isSpace(rest[sep])) sep++;
  let next = sep;
  while (next < rest.length && isSpace(rest[next])) next++;
  if (sep === 0) return none;
  const cmd = parseMaybeJSON(rest.slice(next));
  return { next: newNode({ value: rest.slice(0, sep), next: cmd.next }), attrs: cmd.attrs };
}

const DISPATCH = new Map<string, LineParser>(
  Object.entries({
    add: parseMaybeJSONToList,
    arg: parseNameOrNameVal,
    cmd: parseMaybeJSON,
    copy: parseMaybeJSONToList,
    entrypoint: parseMaybeJSON,
    env: (rest, esc) => parseNameVal(rest, "ENV", esc),
    expose: parseStringsWhitespaceDelimited,
    from: parseStringsWhitespaceDelimited,
    healthcheck: parseHealthConfig,
    label: (rest, esc) => parseNameVal(rest, "LABEL", esc),
    maintainer: parseString,
    onbuild: parseSubCommand,
    run: parseMaybeJSON,
    shell: parseMaybeJSON,
    stopsignal: parseString,
    user: parseString,
    volume: parseMaybeJSONToList,
    workdir: parseString,
  } satisfies Record<string, LineParser>),
);

/** INSTRUCTIONS is the set of known keywords, upper-case. */
export const INSTRUCTIONS: readonly string[] = [...DISPATCH.keys()].map((k) => k.toUpperCase());
