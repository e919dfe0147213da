/**
 * validateSchema: checks one interpolated Compose file against the Compose Specification
 * JSON schema (compose-go's draft 2020-12 copy) and reports the first, most specific error as
 * `file:line: services.web.ports[0]: message`.
 *
 * @since 0.1.0
 */
import { InvalidArgument } from "@berth/errdefs";
import type { ErrorObject, ValidateFunction } from "ajv";
import precompiled from "./generated/composeValidator.js";
import { Override, Reset, type YamlSource } from "./parseYaml.ts";

/** validator is the schema compiled ahead of time by scripts/gen-schema.mjs (ajv standalone). */
function validator(): ValidateFunction {
  return precompiled;
}

/** formatPath renders JSON-pointer segments as compose's dotted path: `services.web.ports[0]`. */
export function formatPath(segments: readonly (string | number)[]): string {
  let out = "";
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else out += out === "" ? s : `.${s}`;
  }
  return out;
}

function segmentsOf(pointer: string, value: unknown): (string | number)[] {
  if (pointer === "") return [];
  const out: (string | number)[] = [];
  let cur: unknown = value;
  for (const raw of pointer.slice(1).split("/")) {
    const seg = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(cur)) {
      out.push(Number(seg));
      cur = cur[Number(seg)];
    } else {
      out.push(seg);
      cur = (cur as Record<string, unknown> | undefined)?.[seg];
    }
  }
  return out;
}

function describe(e: ErrorObject): { message: string; key?: string } {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "additionalProperties":
      return {
        message: `additional property ${String(p.additionalProperty)} is not allowed`,
        key: String(p.additionalProperty),
      };
    case "type":
      return { message: `must be a ${String(p.type).replace(/,/g, " or ")}` };
    case "required":
      return { message: `missing property ${String(p.missingProperty)}` };
    case "enum":
      return {
        message: `must be one of ${(p.allowedValues as unknown[]).map((x) => JSON.stringify(x)).join(", ")}`,
      };
    case "pattern":
      return { message: `does not match pattern ${String(p.pattern)}` };
    default:
      return { message: e.message ?? e.keyword };
  }
}

/** strip replaces !reset/!override markers by what the schema should see. */
function strip(v: unknown): unknown {
  if (v instanceof Reset) return null;
  if (v instanceof Override) return strip(v.value);
  if (Array.isArray(v)) return v.map(strip);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    // A `!reset` key is removed by the merge, so the schema must not judge its placeholder.
    for (const [k, x] of Object.entries(v)) if (!(x instanceof Reset)) out[k] = strip(x);
    return out;
  }
  return v;
}

/**
 * validateSchema throws InvalidArgument (`file:line: path: message`) when `value` (the
 * interpolated content of `src`) does not conform. Reset markers are allowed anywhere.
 */
export function validateSchema(value: unknown, src: YamlSource): void {
  const v = strip(value);
  const validate = validator();
  if (validate(v)) return;
  const errors = (validate.errors ?? []).filter(
    (e) => !(e.keyword === "type" && hasReset(value, e.instancePath)),
  );
  if (errors.length === 0) return;
  // The deepest instance path is the most specific; among equals prefer concrete keywords.
  const rank = (e: ErrorObject) =>
    e.instancePath.split("/").length * 10 +
    (e.keyword === "oneOf" || e.keyword === "anyOf" || e.keyword === "if" ? 0 : 5) +
    (e.keyword === "additionalProperties" ? 2 : 0);
  const best = errors.reduce((a, b) => (rank(b) > rank(a) ? b : a));
  const segs = segmentsOf(best.instancePath, v);
  const d = describe(best);
  const line = src.lineOf(segs, d.key);
  const path = formatPath(segs);
  throw new InvalidArgument(
    `${src.filename}${line === undefined ? "" : `:${line}`}: ${path === "" ? "" : `${path}: `}${d.message}`,
    { code: "ERR_SCHEMA" },
  );
}

function hasReset(value: unknown, pointer: string): boolean {
  let cur: unknown = value;
  for (const raw of pointer.slice(1).split("/")) {
    if (raw === "") continue;
    cur = Array.isArray(cur) ? cur[Number(raw)] : (cur as Record<string, unknown> | undefined)?.[raw];
  }
  return cur instanceof Reset;
}
