/**
 * parseYaml: reads one Compose file's YAML (anchors, aliases and `<<` merge keys) into plain
 * values, keeps the source positions so later stages can say "file:line", and turns compose's
 * `!reset` and `!override` tags into {@link Reset} and {@link Override} markers.
 *
 * @since 0.1.0
 */
import { InvalidArgument } from "@berth/errdefs";
import { isMap, isNode, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument, visit } from "yaml";

/** Reset marks a value tagged `!reset`: the merge removes the key it overrides. */
export class Reset {
  /** tag is always `!reset`. */
  readonly tag = "!reset";
}

/** Override marks a value tagged `!override`: the merge replaces instead of merging. */
export class Override {
  /** value is the tagged value. */
  constructor(readonly value: unknown) {}
}

/** YamlSource is a parsed file with a way back to line numbers. */
export interface YamlSource {
  /** The file name used in messages. */
  readonly filename: string;
  /** The parsed value (usually a mapping). */
  readonly value: unknown;
  /** lineOf returns the 1-based line of the deepest node on `path` (keys and indexes). */
  lineOf(path: readonly (string | number)[], key?: string): number | undefined;
}

const MAX_ALIASES = 10_000;

/** parseYaml parses `text`. Throws InvalidArgument naming the file and line for a syntax error. */
export function parseYaml(text: string, filename: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    merge: true,
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    customTags: [
      { tag: "!reset", resolve: () => new Reset() },
      { tag: "!override", resolve: (s: string) => new Override(s) },
    ],
  });
  const first = doc.errors[0];
  if (first) {
    const pos = lineCounter.linePos(first.pos[0]);
    throw new InvalidArgument(`${filename}:${pos.line}: yaml: ${first.message.split("\n")[0]}`, {
      code: "ERR_YAML",
    });
  }
  // Collection nodes tagged !reset/!override: rewrite into scalars the resolver understands.
  const tagged = new Map<Node, "!reset" | "!override">();
  visit(doc, {
    Map(_k, n) {
      if (n.tag === "!reset" || n.tag === "!override") tagged.set(n, n.tag);
    },
    Seq(_k, n) {
      if (n.tag === "!reset" || n.tag === "!override") tagged.set(n, n.tag);
    },
  });
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (err) {
    throw new InvalidArgument(`${filename}: yaml: ${(err as Error).message}`, { code: "ERR_YAML" });
  }
  if (tagged.size > 0) value = applyCollectionTags(doc.contents, value, tagged);
  return {
    filename,
    value: value ?? {},
    lineOf(path, key) {
      let node: unknown = doc.contents;
      let line: number | undefined = rangeLine(node, lineCounter);
      for (const seg of path) {
        const next = child(node, seg);
        if (next === undefined) return line;
        node = next.value;
        line = rangeLine(next.keyNode ?? node, lineCounter) ?? line;
        if (next.keyNode === undefined) line = rangeLine(node, lineCounter) ?? line;
      }
      if (key !== undefined) {
        const k = child(node, key);
        if (k) return rangeLine(k.keyNode, lineCounter) ?? line;
      }
      return line;
    },
  };
}

function rangeLine(node: unknown, lc: LineCounter): number | undefined {
  if (!isNode(node) || !node.range) return undefined;
  return lc.linePos(node.range[0]).line;
}

function child(node: unknown, seg: string | number): { value: unknown; keyNode?: unknown } | undefined {
  if (isMap(node)) {
    for (const item of node.items) {
      if (!isPair(item)) continue;
      const k = isScalar(item.key) ? String(item.key.value) : String(item.key);
      if (k === String(seg)) return { value: item.value, keyNode: item.key };
    }
    return undefined;
  }
  if (isSeq(node) && typeof seg === "number") {
    const v = node.items[seg];
    return v === undefined ? undefined : { value: v };
  }
  return undefined;
}

function applyCollectionTags(
  node: unknown,
  value: unknown,
  tagged: Map<Node, "!reset" | "!override">,
): unknown {
  if (isNode(node) && tagged.has(node)) {
    return tagged.get(node) === "!reset" ? new Reset() : new Override(value);
  }
  if (isMap(node) && value !== null && typeof value === "object" && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    for (const item of node.items) {
      if (!isPair(item)) continue;
      const k = isScalar(item.key) ? String(item.key.value) : String(item.key);
      if (k in obj) obj[k] = applyCollectionTags(item.value, obj[k], tagged);
    }
    return obj;
  }
  if (isSeq(node) && Array.isArray(value)) {
    return value.map((v, i) => applyCollectionTags(node.items[i], v, tagged));
  }
  return value;
}
