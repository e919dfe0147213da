import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const pkg = resolve(import.meta.dirname, "..");
const shared = process.env.BERTH_SHARED_DIR ?? resolve(pkg, "../../../shared");
const spec = join(shared, "reference/engine-api/swagger.yaml");
const dir = mkdtempSync(join(tmpdir(), "berth-api-gen-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The swagger lives in the shared reference folder beside the checkout (CI and developers have it).
describe.skipIf(!existsSync(spec))("scripts/generate.mjs", () => {
  it("regenerating from the shared swagger.yaml reproduces the committed src/generated/types.ts", () => {
    const out = join(dir, "types.ts");
    execFileSync(process.execPath, [join(pkg, "scripts/generate.mjs"), spec, out]);
    const fresh = readFileSync(out, "utf8");
    const committed = readFileSync(join(pkg, "src/generated/types.ts"), "utf8");
    expect(fresh.length).toBeGreaterThan(100_000);
    expect(fresh === committed, "run `node packages/api/scripts/generate.mjs` and commit the result").toBe(
      true,
    );
  });

  it("emits one declaration per swagger definition, and the aliases", () => {
    const text = readFileSync(join(pkg, "src/generated/types.ts"), "utf8");
    expect(text.startsWith("// Code generated")).toBe(true);
    for (const name of [
      "ContainerConfig",
      "HostConfig",
      "ContainerSummary",
      "ContainerInspectResponse",
      "ContainerState",
      "ImageSummary",
      "ImageInspect",
      "SystemInfo",
      "SystemVersion",
      "ErrorResponse",
      "ContainerCreateResponse",
      "ContainerWaitResponse",
      "ImageDeleteResponseItem",
      "ContainerCreateRequest",
      "ContainerListQuery",
    ]) {
      expect(text, name).toMatch(new RegExp(`^export (interface|type) ${name}\\b`, "m"));
    }
    const swagger = readFileSync(spec, "utf8");
    const defs = swagger.slice(swagger.indexOf("\ndefinitions:"), swagger.indexOf("\npaths:"));
    const names = [...defs.matchAll(/^ {2}([A-Za-z]\w*):$/gm)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(150);
    for (const n of names) expect(text, n).toMatch(new RegExp(`^export (interface|type) ${n}\\b`, "m"));
  });

  it("ContainerCreateRequest is ContainerConfig plus HostConfig and NetworkingConfig", () => {
    const text = readFileSync(join(pkg, "src/generated/types.ts"), "utf8");
    const body = text.slice(text.indexOf("export type ContainerCreateBody"));
    expect(body.slice(0, 400)).toMatch(
      /ContainerConfig & \{[\s\S]*HostConfig\?: HostConfig;[\s\S]*NetworkingConfig\?: NetworkingConfig;/,
    );
  });
});
