import { quoteGo } from "./quoteGo.ts";

/**
 * Heredoc is one `<<WORD` body attached to a RUN, COPY or ADD node.
 * `content` keeps the body's newlines; `expand` is false when the word was
 * quoted in any way (`'EOF'`, `"EOF"`, `E'O'F`); `chomp` is true for `<<-`
 * (leading tabs are stripped from the body by the consumer, see {@link chompHeredocContent}).
 */
export interface Heredoc {
  readonly name: string;
  readonly fileDescriptor: number;
  readonly expand: boolean;
  readonly chomp: boolean;
  content: string;
}

/**
 * Node is one node of the Dockerfile AST, shaped like BuildKit's `parser.Node`:
 * the root's `children` are the instructions; an instruction's `value` is the
 * keyword as written and its arguments hang off `next` as a linked list (ONBUILD's
 * single argument node has the nested instruction in `children`).
 * Lines are 1-based and inclusive.
 */
export interface Node {
  value: string;
  next: Node | undefined;
  children: Node[];
  heredocs: Heredoc[];
  attributes: { json?: boolean };
  original: string;
  flags: string[];
  startLine: number;
  endLine: number;
  prevComment: string[];
}

/** newNode makes a Node with every field defaulted. */
export function newNode(fields: Partial<Node> = {}): Node {
  return {
    value: "",
    next: undefined,
    children: [],
    heredocs: [],
    attributes: {},
    original: "",
    flags: [],
    startLine: 0,
    endLine: 0,
    prevComment: [],
    ...fields,
  };
}

/** nodeArgs lists the argument values of an instruction node (ONBUILD's nested keyword and args inline). */
export function nodeArgs(node: Node): string[] {
  const out: string[] = [];
  for (let n = node.next; n !== undefined; n = n.next) {
    const [child] = n.children;
    if (n.children.length === 0) out.push(n.value);
    else if (n.children.length === 1 && child !== undefined) out.push(child.value, ...nodeArgs(child));
  }
  return out;
}

/**
 * dump renders a node as BuildKit's `Node.Dump` does: lower-cased keyword, flags in Go `%q` slice
 * form, each argument Go-quoted, children in parentheses one per line, the whole trimmed.
 */
export function dump(node: Node): string {
  let s = node.value.toLowerCase();
  if (node.flags.length > 0) s += ` [${node.flags.map(quoteGo).join(" ")}]`;
  for (const c of node.children) s += `(${dump(c)})\n`;
  for (let n = node.next; n !== undefined; n = n.next) {
    s += " ";
    s += n.children.length > 0 ? dump(n) : quoteGo(n.value);
  }
  return trimSpace(s);
}

const SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/;

/** isSpace is Go's `unicode.IsSpace` for one character. */
export function isSpace(ch: string | undefined): boolean {
  return ch !== undefined && ch.length === 1 && SPACE.test(ch);
}

/** trimSpace is Go's `strings.TrimSpace`. */
export function trimSpace(s: string): string {
  return trimRightSpace(trimLeftSpace(s));
}

/** trimLeftSpace is Go's `strings.TrimLeftFunc(s, unicode.IsSpace)`. */
export function trimLeftSpace(s: string): string {
  let i = 0;
  while (i < s.length && isSpace(s[i])) i++;
  return s.slice(i);
}

/** trimRightSpace is Go's `strings.TrimRightFunc(s, unicode.IsSpace)`. */
export function trimRightSpace(s: string): string {
  let j = s.length;
  while (j > 0 && isSpace(s[j - 1])) j--;
  return s.slice(0, j);
}
