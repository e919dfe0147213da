/**
 * shellSplit: splits a command string into words as compose-go's shellwords does for
 * `command: echo "a b"` (single and double quotes, backslash escapes; no expansion).
 *
 * @since 0.1.0
 */
import { InvalidArgument } from "@berth/errdefs";

/** shellSplit splits `text` into words. Throws InvalidArgument for an unclosed quote. */
export function shellSplit(text: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inWord = false;
  let q: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (q === "'") {
      if (c === "'") q = undefined;
      else cur += c;
      continue;
    }
    if (c === "\\" && i + 1 < text.length) {
      const n = text[i + 1] as string;
      if (q === '"' && !['"', "\\", "$", "`", "\n"].includes(n)) cur += c;
      else if (n === "\n") {
        i++;
        continue;
      }
      cur += n;
      i++;
      inWord = true;
      continue;
    }
    if (q === '"') {
      if (c === '"') q = undefined;
      else cur += c;
      continue;
    }
    if (c === "'" || c === '"') {
      q = c;
      inWord = true;
      continue;
    }
    if (c === " " || c === "\t" || c === "\n") {
      if (inWord) out.push(cur);
      cur = "";
      inWord = false;
      continue;
    }
    cur += c;
    inWord = true;
  }
  if (q !== undefined)
    throw new InvalidArgument(`invalid command line string: unclosed quote in ${JSON.stringify(text)}`);
  if (inWord) out.push(cur);
  return out;
}
