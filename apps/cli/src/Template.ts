/**
 * Template: the subset of Go's text/template that docker's `--format` flags use, with docker's
 * extra functions (json, split, join, title, lower, upper, pad, truncate).
 *
 * Supported: text and `{{ }}` actions with `{{-`/`-}}` trimming; fields `.A.B`, `.` and `$`;
 * string (`"..."`, `` `...` ``), number and bool literals; pipelines `a | f b`; parenthesised
 * pipelines; `if`/`else if`/`else`/`end`, `range`/`else`/`end`, `with`/`else`/`end`; the builtins
 * index, len, eq, ne, lt, le, gt, ge, not, and, or, print, printf (%s %d %v %q), println.
 * A field that is a function is called (with the command's arguments), like a Go method.
 *
 * Values print as Go's fmt.Sprint does: nil as `<nil>`, a missing map key as `<no value>`,
 * slices as `[a b]` and maps as `map[k:v]` with sorted keys.
 *
 * @since 0.1.0
 */

/** TemplateError is a parse or execution error (message like Go's, without the file prefix). */
export class TemplateError extends Error {
  override readonly name = "TemplateError";
}

/** A template function. */
export type TemplateFunc = (...args: unknown[]) => unknown;

type Operand =
  | { t: "field"; base: "dot" | "root"; path: string[] }
  | { t: "lit"; v: unknown }
  | { t: "ident"; name: string }
  | { t: "pipe"; pipe: Pipe };
type Cmd = Operand[];
type Pipe = Cmd[];
type Node =
  | { t: "text"; s: string }
  | { t: "action"; pipe: Pipe }
  | { t: "if" | "with" | "range"; pipe: Pipe; body: Node[]; else: Node[] };

/** NO_VALUE is what a missing map key evaluates to; it prints as `<no value>`. */
const NO_VALUE = Symbol("no value");

// ---------------------------------------------------------------- lexing actions

function tokenize(src: string): string[] {
  const toks: string[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === "\\" ? 2 : 1;
      if (j >= src.length) throw new TemplateError("unterminated quoted string");
      toks.push(src.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    if (c === "`") {
      const j = src.indexOf("`", i + 1);
      if (j < 0) throw new TemplateError("unterminated raw quoted string");
      toks.push(src.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    if (c === "(" || c === ")" || c === "|") {
      toks.push(c);
      i++;
      continue;
    }
    let j = i;
    while (j < src.length && !/[\s()|"`]/.test(src[j] as string)) j++;
    toks.push(src.slice(i, j));
    i = j;
  }
  return toks;
}

function parseOperand(tok: string): Operand {
  if (tok === ".") return { t: "field", base: "dot", path: [] };
  if (tok === "$") return { t: "field", base: "root", path: [] };
  if (tok.startsWith(".")) return { t: "field", base: "dot", path: tok.slice(1).split(".") };
  if (tok.startsWith("$.")) return { t: "field", base: "root", path: tok.slice(2).split(".") };
  if (tok.startsWith('"')) return { t: "lit", v: JSON.parse(tok) as string };
  if (tok.startsWith("`")) return { t: "lit", v: tok.slice(1, -1) };
  if (tok === "true" || tok === "false") return { t: "lit", v: tok === "true" };
  if (tok === "nil") return { t: "lit", v: null };
  if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(tok)) return { t: "lit", v: Number(tok) };
  if (/^[A-Za-z_]\w*$/.test(tok)) return { t: "ident", name: tok };
  throw new TemplateError(`unexpected ${JSON.stringify(tok)} in command`);
}

function parsePipe(toks: string[], pos: { i: number }, closing: string | undefined): Pipe {
  const pipe: Pipe = [];
  let cmd: Cmd = [];
  while (pos.i < toks.length) {
    const tok = toks[pos.i++] as string;
    if (tok === ")") {
      if (closing !== ")") throw new TemplateError("unexpected right paren");
      if (cmd.length === 0) throw new TemplateError("missing value for command");
      pipe.push(cmd);
      return pipe;
    }
    if (tok === "|") {
      if (cmd.length === 0) throw new TemplateError("missing value for command");
      pipe.push(cmd);
      cmd = [];
      continue;
    }
    if (tok === "(") {
      cmd.push({ t: "pipe", pipe: parsePipe(toks, pos, ")") });
      continue;
    }
    cmd.push(parseOperand(tok));
  }
  if (closing === ")") throw new TemplateError("unclosed left paren");
  if (cmd.length === 0) throw new TemplateError("missing value for command");
  pipe.push(cmd);
  return pipe;
}

function parseActionPipe(src: string): Pipe {
  const toks = tokenize(src);
  if (toks.length === 0) throw new TemplateError("missing value for command");
  return parsePipe(toks, { i: 0 }, undefined);
}

// ---------------------------------------------------------------- parsing the template

interface Frame {
  node: Extract<Node, { t: "if" | "with" | "range" }> | undefined;
  list: Node[];
  inElse: boolean;
  /** `else if` chains close together with one `end`. */
  chained: number;
}

/** Template is a parsed template; execute it with {@link Template.execute}. */
export class Template {
  private constructor(private readonly root: Node[]) {}

  /** parse parses `src`; throws TemplateError. */
  static parse(src: string): Template {
    const root: Node[] = [];
    const stack: Frame[] = [{ node: undefined, list: root, inElse: false, chained: 0 }];
    const top = (): Frame => stack[stack.length - 1] as Frame;
    let i = 0;
    let trimNext = false;
    while (i < src.length) {
      const open = src.indexOf("{{", i);
      let text = open < 0 ? src.slice(i) : src.slice(i, open);
      if (trimNext) text = text.replace(/^\s+/, "");
      trimNext = false;
      if (open < 0) {
        if (text) top().list.push({ t: "text", s: text });
        break;
      }
      let inner = "";
      const close = src.indexOf("}}", open + 2);
      if (close < 0) throw new TemplateError("unclosed action");
      inner = src.slice(open + 2, close);
      if (/^-\s/.test(inner)) {
        text = text.replace(/\s+$/, "");
        inner = inner.slice(1);
      }
      if (/\s-$/.test(inner)) {
        trimNext = true;
        inner = inner.slice(0, -1);
      }
      if (text) top().list.push({ t: "text", s: text });
      i = close + 2;
      inner = inner.trim();
      if (inner.startsWith("/*")) continue;
      const word = /^(\w+)\b\s*(.*)$/s.exec(inner);
      const kw = word?.[1];
      const rest = word?.[2] ?? "";
      if (kw === "if" || kw === "with" || kw === "range") {
        const node = { t: kw, pipe: parseActionPipe(rest), body: [], else: [] } as Extract<
          Node,
          { t: "if" | "with" | "range" }
        >;
        top().list.push(node);
        stack.push({ node, list: node.body, inElse: false, chained: 0 });
      } else if (kw === "else") {
        const f = top();
        if (!f.node || f.inElse) throw new TemplateError("unexpected {{else}}");
        f.inElse = true;
        f.list = f.node.else;
        const sub = /^(if|with)\b\s*(.*)$/s.exec(rest);
        if (sub) {
          const node = { t: sub[1], pipe: parseActionPipe(sub[2] ?? ""), body: [], else: [] } as Extract<
            Node,
            { t: "if" | "with" | "range" }
          >;
          f.list.push(node);
          stack.push({ node, list: node.body, inElse: false, chained: f.chained + 1 });
          f.chained = 0;
        } else if (rest.trim() !== "") {
          throw new TemplateError(`unexpected ${JSON.stringify(rest)} in else`);
        }
      } else if (kw === "end") {
        const f = top();
        if (!f.node) throw new TemplateError("unexpected {{end}}");
        stack.pop();
        for (let k = 0; k < f.chained; k++) stack.pop();
      } else if (kw === "define" || kw === "template" || kw === "block") {
        throw new TemplateError(`{{${kw}}} is not supported`);
      } else {
        top().list.push({ t: "action", pipe: parseActionPipe(inner) });
      }
    }
    if (stack.length > 1) throw new TemplateError("unexpected EOF");
    return new Template(root);
  }

  /** execute renders the template with `data` as dot; `funcs` override or extend the builtins. */
  execute(data: unknown, funcs: Readonly<Record<string, TemplateFunc>> = {}): string {
    const ctx: ExecCtx = { root: data, funcs: { ...BUILTINS, ...funcs } };
    return run(this.root, data, ctx);
  }
}

// ---------------------------------------------------------------- execution

interface ExecCtx {
  root: unknown;
  funcs: Record<string, TemplateFunc>;
}

function run(nodes: Node[], dot: unknown, ctx: ExecCtx): string {
  let out = "";
  for (const n of nodes) {
    switch (n.t) {
      case "text":
        out += n.s;
        break;
      case "action":
        out += printValue(evalPipe(n.pipe, dot, ctx));
        break;
      case "if": {
        const v = evalPipe(n.pipe, dot, ctx);
        out += run(truthy(v) ? n.body : n.else, dot, ctx);
        break;
      }
      case "with": {
        const v = evalPipe(n.pipe, dot, ctx);
        out += truthy(v) ? run(n.body, v, ctx) : run(n.else, dot, ctx);
        break;
      }
      case "range": {
        const v = evalPipe(n.pipe, dot, ctx);
        const items: unknown[] = Array.isArray(v)
          ? v
          : isObject(v)
            ? Object.keys(v)
                .sort()
                .map((k) => v[k])
            : [];
        if (items.length === 0) out += run(n.else, dot, ctx);
        else for (const item of items) out += run(n.body, item, ctx);
        break;
      }
    }
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function truthy(v: unknown): boolean {
  if (v === NO_VALUE || v === undefined || v === null || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isObject(v)) return Object.keys(v).length > 0;
  return true;
}

function evalPipe(pipe: Pipe, dot: unknown, ctx: ExecCtx): unknown {
  let prev: unknown;
  let hasPrev = false;
  for (const cmd of pipe) {
    prev = evalCmd(cmd, dot, ctx, hasPrev ? [prev] : []);
    hasPrev = true;
  }
  return prev;
}

function evalCmd(cmd: Cmd, dot: unknown, ctx: ExecCtx, piped: unknown[]): unknown {
  const [head, ...rest] = cmd;
  if (!head) throw new TemplateError("empty command");
  const args = (): unknown[] => [...rest.map((o) => evalOperand(o, dot, ctx)), ...piped];
  if (head.t === "ident") {
    const fn = ctx.funcs[head.name];
    if (!fn) throw new TemplateError(`function ${JSON.stringify(head.name)} not defined`);
    return fn(...args());
  }
  if (head.t === "field" && (rest.length > 0 || piped.length > 0)) {
    const { holder, key } = resolveHolder(head, dot, ctx);
    const member = isObject(holder) ? holder[key] : undefined;
    if (typeof member === "function") return (member as TemplateFunc).apply(holder, args());
    throw new TemplateError(`can't give argument to non-function ${"." + head.path.join(".")}`);
  }
  if (rest.length > 0 || piped.length > 0) throw new TemplateError("can't give argument to non-function");
  return evalOperand(head, dot, ctx);
}

function resolveHolder(op: Extract<Operand, { t: "field" }>, dot: unknown, ctx: ExecCtx) {
  let holder: unknown = op.base === "dot" ? dot : ctx.root;
  const path = op.path;
  for (let i = 0; i < path.length - 1; i++) holder = field(holder, path[i] as string);
  return { holder, key: path[path.length - 1] as string };
}

function field(v: unknown, name: string): unknown {
  if (v === NO_VALUE || v === undefined) return NO_VALUE;
  if (v === null) throw new TemplateError(`nil pointer evaluating interface {}.${name}`);
  if (!isObject(v)) throw new TemplateError(`can't evaluate field ${name} in type ${goType(v)}`);
  if (!(name in v)) return NO_VALUE;
  const f = v[name];
  if (typeof f === "function") return (f as TemplateFunc).call(v);
  return f;
}

function goType(v: unknown): string {
  if (typeof v === "string") return "string";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float64";
  if (typeof v === "boolean") return "bool";
  if (Array.isArray(v)) return "[]interface {}";
  return "interface {}";
}

function evalOperand(op: Operand, dot: unknown, ctx: ExecCtx): unknown {
  switch (op.t) {
    case "lit":
      return op.v;
    case "pipe":
      return evalPipe(op.pipe, dot, ctx);
    case "ident": {
      const fn = ctx.funcs[op.name];
      if (!fn) throw new TemplateError(`function ${JSON.stringify(op.name)} not defined`);
      return fn();
    }
    case "field": {
      let v: unknown = op.base === "dot" ? dot : ctx.root;
      for (const p of op.path) v = field(v, p);
      return v;
    }
  }
}

/** printValue formats a value as Go's fmt.Sprint does for template output. */
export function printValue(v: unknown): string {
  if (v === NO_VALUE || v === undefined) return "<no value>";
  if (v === null) return "<nil>";
  if (typeof v === "string") return v;
  if (typeof v === "number") return formatNumber(v);
  if (typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (Array.isArray(v)) return `[${v.map(printInner).join(" ")}]`;
  if (isObject(v)) {
    return `map[${Object.keys(v)
      .sort()
      .map((k) => `${k}:${printInner(v[k])}`)
      .join(" ")}]`;
  }
  return String(v);
}

function printInner(v: unknown): string {
  return v === null || v === undefined ? "<nil>" : printValue(v);
}

function formatNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  // Go's %v for float64 is %g with the shortest representation.
  const s = String(n);
  return s.replace(/e\+?(-?)(\d)$/, "e$1+0$2").replace("e+-", "e-");
}

function toStr(v: unknown): string {
  return typeof v === "string" ? v : printValue(v);
}

function goQuote(s: string): string {
  return JSON.stringify(s);
}

function sprintf(format: string, ...args: unknown[]): string {
  let i = 0;
  return format.replace(/%([-+ 0#]*\d*(?:\.\d+)?)([sdvqf%])/g, (_m, flags: string, verb: string) => {
    if (verb === "%") return "%";
    const a = args[i++];
    let s: string;
    switch (verb) {
      case "d":
        s = String(Math.trunc(Number(a)));
        break;
      case "q":
        s = goQuote(toStr(a));
        break;
      case "f": {
        const prec = /\.(\d+)/.exec(flags);
        s = Number(a).toFixed(prec ? Number(prec[1]) : 6);
        break;
      }
      default:
        s = toStr(a);
    }
    const w = /^-?(\d+)/.exec(flags.replace(/^[+ 0#]*/, ""));
    if (w) {
      const width = Number(w[1]);
      s = flags.includes("-") ? s.padEnd(width) : s.padStart(width);
    }
    return s;
  });
}

function compare(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  const x = toStr(a);
  const y = toStr(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** plain turns a value into JSON-able data; an object's zero-argument functions act as Go methods. */
function plain(v: unknown): unknown {
  if (v === NO_VALUE) return null;
  if (isObject(v) && Object.values(v).some((x) => typeof x === "function")) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(v).sort()) {
      const f = v[key];
      if (typeof f !== "function") out[key] = f;
      else if (f.length === 0) out[key] = (f as () => unknown).call(v);
    }
    return out;
  }
  return v;
}

/** BUILTINS are Go's template builtins plus docker's basic functions. */
export const BUILTINS: Readonly<Record<string, TemplateFunc>> = {
  json: (v) => JSON.stringify(plain(v) ?? null),
  split: (s, sep) => toStr(s).split(toStr(sep)),
  join: (arr, sep) => (Array.isArray(arr) ? arr.map(toStr).join(toStr(sep)) : toStr(arr)),
  title: (s) =>
    toStr(s).replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, p: string, c: string) => p + c.toUpperCase()),
  lower: (s) => toStr(s).toLowerCase(),
  upper: (s) => toStr(s).toUpperCase(),
  pad: (s, before, after) => " ".repeat(Number(before)) + toStr(s) + " ".repeat(Number(after)),
  truncate: (s, n) => {
    const chars = [...toStr(s)];
    return chars.length > Number(n) ? chars.slice(0, Number(n)).join("") : toStr(s);
  },
  index: (v, ...keys) => {
    let cur: unknown = v;
    for (const k of keys) {
      if (Array.isArray(cur)) cur = cur[Number(k)];
      else if (isObject(cur)) cur = k !== undefined && toStr(k) in cur ? cur[toStr(k)] : NO_VALUE;
      else throw new TemplateError(`can't index item of type ${goType(cur)}`);
    }
    return cur;
  },
  len: (v) => {
    if (typeof v === "string" || Array.isArray(v)) return v.length;
    if (isObject(v)) return Object.keys(v).length;
    throw new TemplateError(`len of type ${goType(v)}`);
  },
  eq: (a, ...bs) => bs.some((b) => compare(a, b) === 0),
  ne: (a, b) => compare(a, b) !== 0,
  lt: (a, b) => compare(a, b) < 0,
  le: (a, b) => compare(a, b) <= 0,
  gt: (a, b) => compare(a, b) > 0,
  ge: (a, b) => compare(a, b) >= 0,
  not: (v) => !truthy(v),
  and: (...vs) => {
    for (const v of vs) if (!truthy(v)) return v;
    return vs[vs.length - 1];
  },
  or: (...vs) => {
    for (const v of vs) if (truthy(v)) return v;
    return vs[vs.length - 1];
  },
  print: (...vs) => vs.map(toStr).join(""),
  printf: (f, ...vs) => sprintf(toStr(f), ...vs),
  println: (...vs) => `${vs.map(toStr).join(" ")}\n`,
};

/** HEADER_FUNCS are docker's HeaderFunctions: they leave column names intact in table headers. */
export const HEADER_FUNCS: Readonly<Record<string, TemplateFunc>> = {
  json: (v) => toStr(v),
  split: (v) => toStr(v),
  join: (v) => toStr(v),
  title: (v) => toStr(v),
  lower: (v) => toStr(v),
  upper: (v) => toStr(v),
  truncate: (v) => toStr(v),
};
