import { isSpace, trimSpace } from "./Node.ts";

/** WHITESPACE is BuildKit's `[\t\v\f\r ]+` splitter. */
export const WHITESPACE = /[\t\v\f\r ]+/;

/** splitCommand cuts a logical line into keyword, leading `--flags` and the rest (trimmed). */
export function splitCommand(
  line: string,
  escapeToken: string,
): { cmd: string; flags: string[]; args: string } {
  const trimmed = trimSpace(line);
  const m = WHITESPACE.exec(trimmed);
  if (m === null) return { cmd: trimmed, flags: [], args: "" };
  const cmd = trimmed.slice(0, m.index);
  const { rest, flags } = extractBuilderFlags(trimmed.slice(m.index + m[0].length), escapeToken);
  return { cmd, flags, args: trimSpace(rest) };
}

/**
 * extractBuilderFlags takes the leading `--flag` words off `line`: quotes are removed, the escape
 * character escapes the next character, and a bare `--` ends the flags and is dropped.
 */
export function extractBuilderFlags(line: string, escapeToken: string): { rest: string; flags: string[] } {
  const flags: string[] = [];
  let phase: "spaces" | "word" | "quote" = "spaces";
  let word = "";
  let quote = "";
  let blankOK = false;
  for (let pos = 0; pos <= line.length; pos++) {
    let ch = line[pos] ?? "";
    const atEnd = pos === line.length;
    if (phase === "spaces") {
      if (atEnd) break;
      if (isSpace(ch)) continue;
      if (ch !== "-" || pos + 1 === line.length || line[pos + 1] !== "-")
        return { rest: line.slice(pos), flags };
      phase = "word";
    }
    if (atEnd) {
      if (word !== "--" && (blankOK || word.length > 0)) flags.push(word);
      break;
    }
    if (phase === "word") {
      if (isSpace(ch)) {
        phase = "spaces";
        if (word === "--") return { rest: line.slice(pos), flags };
        if (blankOK || word.length > 0) flags.push(word);
        word = "";
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = "quote";
        continue;
      }
      if (ch === escapeToken) {
        if (pos + 1 === line.length) continue;
        pos++;
        ch = line[pos] ?? "";
      }
      word += ch;
      continue;
    }
    // phase === "quote"
    if (ch === quote) {
      phase = "word";
      continue;
    }
    if (ch === escapeToken) {
      if (pos + 1 === line.length) {
        phase = "word";
        continue;
      }
      pos++;
      ch = line[pos] ?? "";
    }
    word += ch;
  }
  return { rest: "", flags };
}
