import { Lex } from "../shell/Lex.ts";
import type { Heredoc } from "./Node.ts";

const HEREDOC = /^(\d*)<<(-?)[\t\n\f\r ]*([^<]*)$/;
const EMPTY_ENV = { get: () => undefined };

/**
 * parseHeredoc reads one word like `<<EOF`, `<<-EOF`, `3<<"EOF"`; undefined if it is not a heredoc.
 * A word quoted in any way turns expansion of the body off.
 */
export function parseHeredoc(word: string): Heredoc | undefined {
  const m = HEREDOC.exec(word);
  if (m === null) return undefined;
  const rest = m[3] ?? "";
  if (rest === "") return undefined;
  const plain = new Lex({ skipUnsetEnv: true }).processWords(rest, EMPTY_ENV);
  if (plain.length !== 1) return undefined;
  const raw = new Lex({ skipUnsetEnv: true, rawQuotes: true }).processWords(rest, EMPTY_ENV);
  if (raw.length !== plain.length) {
    throw new Error(`internal lexing of heredoc produced inconsistent results: ${rest}`);
  }
  const name = plain[0] ?? "";
  const quotes = (s: string) => s.split(/['"]/).length - 1;
  return {
    name,
    fileDescriptor: Number.parseInt(m[1] || "0", 10),
    expand: quotes(name) === quotes(raw[0] ?? ""),
    chomp: m[2] === "-",
    content: "",
  };
}

/** heredocsFromLine finds every heredoc word on an instruction line, in order. */
export function heredocsFromLine(line: string): Heredoc[] {
  let words: string[];
  try {
    words = new Lex({ rawQuotes: true, rawEscapes: true, skipUnsetEnv: true }).processWords(line, EMPTY_ENV);
  } catch {
    words = [];
  }
  const docs: Heredoc[] = [];
  for (const w of words) {
    const h = parseHeredoc(w);
    if (h !== undefined) docs.push(h);
  }
  return docs;
}

/** chompHeredocContent removes leading tabs from every line (the `<<-` form). */
export function chompHeredocContent(src: string): string {
  return src.replace(/^\t+/gm, "");
}
