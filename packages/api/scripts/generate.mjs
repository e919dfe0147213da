#!/usr/bin/env node
// generate.mjs: reads the Engine API swagger (Swagger 2.0, YAML) and writes
// src/generated/types.ts with one exported type per definition, plus query,
// body and result types for every operation that has an operationId.
//
// Usage: node packages/api/scripts/generate.mjs [swagger.yaml] [out.ts]
// Deterministic: the same spec always produces byte-identical output (a test checks it).
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
// The spec is not copied into the repository: it is read from the project's shared reference
// folder, which sits beside the checkout (override with BERTH_SHARED_DIR).
const shared = process.env.BERTH_SHARED_DIR ?? resolve(here, "../../../../shared");
export const DEFAULT_SPEC = resolve(shared, "reference/engine-api/swagger.yaml");
export const DEFAULT_OUT = resolve(here, "../src/generated/types.ts");

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** key renders an object key, quoting it when it is not an identifier. */
function key(name) {
  return IDENT.test(name) ? name : JSON.stringify(name);
}

/** doc renders a JSDoc block from a description, indented. */
function doc(text, indent) {
  if (typeof text !== "string" || text.trim() === "") return "";
  const lines = text
    .trim()
    .replaceAll("*/", "*\\/")
    .split("\n")
    .map((l) => l.replace(/\s+$/, ""));
  if (lines.length === 1) return `${indent}/** ${lines[0]} */\n`;
  return `${indent}/**\n${lines.map((l) => (l === "" ? `${indent} *` : `${indent} * ${l}`)).join("\n")}\n${indent} */\n`;
}

function refName(ref) {
  const prefix = "#/definitions/";
  if (!ref.startsWith(prefix)) throw new Error(`unsupported $ref ${ref}, expected ${prefix}...`);
  return ref.slice(prefix.length);
}

function literal(v) {
  return JSON.stringify(v);
}

/** typeOf renders a schema as a TypeScript type expression. */
function typeOf(schema, indent) {
  if (schema === undefined || schema === null) return "unknown";
  let t = baseType(schema, indent);
  if (schema["x-nullable"] === true && t !== "unknown") t = `${wrap(t)} | null`;
  return t;
}

function wrap(t) {
  return /[|&]/.test(t) && !/^\{[\s\S]*\}$/.test(t) ? `(${t})` : t;
}

function baseType(schema, indent) {
  if (schema.$ref) return refName(schema.$ref);
  if (Array.isArray(schema.allOf)) {
    return schema.allOf.map((s) => wrap(typeOf(s, indent))).join(" & ");
  }
  if (Array.isArray(schema.enum) && schema.enum.length > 0) {
    return schema.enum.map(literal).join(" | ");
  }
  switch (schema.type) {
    case "string":
      return "string";
    case "integer":
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "file":
      return "Uint8Array";
    case "array":
      return `${wrap(typeOf(schema.items, indent))}[]`;
    case "object":
    case undefined:
      return objectType(schema, indent);
    default:
      throw new Error(`unsupported schema type ${schema.type}`);
  }
}

function objectType(schema, indent) {
  const props = schema.properties ?? {};
  const names = Object.keys(props);
  const extra = schema.additionalProperties;
  if (names.length === 0) {
    if (extra === undefined || extra === false) {
      return schema.type === "object" ? "Record<string, unknown>" : "unknown";
    }
    if (extra === true || Object.keys(extra).length === 0) return "Record<string, unknown>";
    return `Record<string, ${typeOf(extra, indent)}>`;
  }
  const required = new Set(schema.required ?? []);
  const inner = `${indent}  `;
  let out = "{\n";
  for (const name of names) {
    const p = props[name];
    out += doc(p.description, inner);
    out += `${inner}${key(name)}${required.has(name) ? "" : "?"}: ${typeOf(p, inner)};\n`;
  }
  if (extra !== undefined && extra !== false) {
    const v = extra === true || Object.keys(extra).length === 0 ? "unknown" : typeOf(extra, inner);
    out += `${inner}[key: string]: ${v};\n`;
  }
  return `${out}${indent}}`;
}

/** declaration renders `export interface` for plain objects, `export type` otherwise. */
function declaration(name, schema) {
  let out = doc(schema.description ?? schema.title, "");
  const isPlainObject =
    !schema.$ref &&
    !schema.allOf &&
    !schema.enum &&
    (schema.type === "object" || schema.type === undefined) &&
    schema.properties !== undefined &&
    Object.keys(schema.properties).length > 0 &&
    schema["x-nullable"] !== true;
  if (isPlainObject) out += `export interface ${name} ${objectType(schema, "")}\n`;
  else out += `export type ${name} = ${typeOf(schema, "")};\n`;
  return out;
}

function pascal(s) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** operations renders Query/Body/Result types for every operation with an operationId. */
function operations(spec, taken) {
  let out = "";
  const methods = ["get", "head", "post", "put", "delete", "patch"];
  const ops = [];
  for (const [path, item] of Object.entries(spec.paths ?? {})) {
    for (const m of methods) {
      const op = item[m];
      if (op?.operationId) ops.push({ path, method: m.toUpperCase(), op });
    }
  }
  for (const { path, method, op } of ops) {
    const id = pascal(op.operationId);
    const params = [...(spec.paths[path].parameters ?? []), ...(op.parameters ?? [])];
    out += `\n// ${method} ${path} (${op.operationId})\n`;
    const query = params.filter((p) => p.in === "query");
    const queryName = `${id}Query`;
    if (query.length > 0 && !taken.has(queryName)) {
      taken.add(queryName);
      out += declaration(queryName, {
        description: `Query parameters of \`${method} ${path}\`.`,
        type: "object",
        properties: Object.fromEntries(query.map((p) => [p.name, { ...p, in: undefined }])),
        required: query.filter((p) => p.required).map((p) => p.name),
      });
    }
    const body = params.find((p) => p.in === "body");
    const bodyName = `${id}Body`;
    if (body?.schema && !taken.has(bodyName)) {
      taken.add(bodyName);
      out += `/** Request body of \`${method} ${path}\`. */\nexport type ${bodyName} = ${typeOf(body.schema, "")};\n`;
    }
    const ok = Object.entries(op.responses ?? {}).find(([code, r]) => /^2\d\d$/.test(code) && r.schema);
    const resultName = `${id}Result`;
    if (ok && !taken.has(resultName)) {
      taken.add(resultName);
      out += `/** Response body of \`${method} ${path}\` (status ${ok[0]}). */\nexport type ${resultName} = ${typeOf(ok[1].schema, "")};\n`;
    }
  }
  return out;
}

/**
 * ALIASES are the hand-picked request/response names the client and daemon use,
 * defined over generated operation types so they cannot drift from the spec.
 */
const ALIASES = [
  [
    "ContainerCreateRequest",
    "ContainerCreateBody",
    "Body of `POST /containers/create`: ContainerConfig plus HostConfig and NetworkingConfig.",
  ],
  ["ContainerListResponse", "ContainerListResult", "Body of a `GET /containers/json` answer."],
  ["ContainerInspect", "ContainerInspectResponse", "Body of a `GET /containers/{id}/json` answer."],
  ["ImageListResponse", "ImageListResult", "Body of a `GET /images/json` answer."],
  ["ImageDeleteResponse", "ImageDeleteResult", "Body of a `DELETE /images/{name}` answer."],
  ["SystemVersionResponse", "SystemVersion", "Body of a `GET /version` answer."],
  ["SystemInfoResponse", "SystemInfo", "Body of a `GET /info` answer."],
  ["ExecCreateRequest", "ContainerExecBody", "Body of `POST /containers/{id}/exec`."],
  ["ExecStartRequest", "ExecStartBody", "Body of `POST /exec/{id}/start`."],
  ["ExecInspectResponse", "ExecInspectResult", "Body of a `GET /exec/{id}/json` answer."],
];

/** generate returns the full text of types.ts for a parsed spec. */
export function generate(specText) {
  const spec = parse(specText);
  const defs = spec.definitions ?? {};
  const taken = new Set(Object.keys(defs));
  let out = "";
  out += "// Code generated by packages/api/scripts/generate.mjs from the Engine API swagger. DO NOT EDIT.\n";
  out += `// Spec: Docker Engine API ${spec.info?.version ?? "?"} (basePath ${spec.basePath ?? "?"}).\n`;
  out += "// Regenerate: node packages/api/scripts/generate.mjs\n";
  out += "/* biome-ignore-all lint: generated */\n\n";
  out += "// ---------- definitions ----------\n\n";
  for (const name of Object.keys(defs)) {
    out += declaration(name, defs[name]);
    out += "\n";
  }
  out += "// ---------- operations ----------\n";
  out += operations(spec, taken);
  out += "\n// ---------- aliases ----------\n\n";
  for (const [name, target, text] of ALIASES) {
    if (taken.has(name)) throw new Error(`alias ${name} collides with a generated name`);
    if (!taken.has(target))
      throw new Error(`alias ${name} targets ${target}, which the spec does not define`);
    taken.add(name);
    out += `/** ${text} */\nexport type ${name} = ${target};\n`;
  }
  return out;
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const specPath = process.argv[2] ?? DEFAULT_SPEC;
  const outPath = process.argv[3] ?? DEFAULT_OUT;
  writeFileSync(outPath, generate(readFileSync(specPath, "utf8")));
  process.stdout.write(`wrote ${outPath}\n`);
}
