import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { loadProject, type Project, parseDotEnv, parseYaml, validateSchema } from "../src/index.ts";

// compose-go's peer test data (/work/shared/conformance/compose-go) wired in as data: every
// YAML file there is loaded and every .env fixture parsed. A file dropped into that folder is
// tested by default as "loads without error"; the tables below hold what upstream's Go tests
// expect of the named ones.
const ROOT = "/work/shared/conformance/compose-go";

function files(dir: string, re: RegExp): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p, re));
    else if (re.test(name)) out.push(p);
  }
  return out.sort();
}

/** Expected failures (message prefix), skips (reason) and checks of loaded projects. */
const LOAD: Record<
  string,
  { error?: string; skip?: string; env?: Record<string, string>; check?: (p: Project) => void }
> = {
  "loader/testdata/compose-depends-on-cycle.yaml": {
    error: "dependency cycle detected: service1 -> service2 -> service3 -> service1",
  },
  "loader/testdata/compose-depends-on-self.yaml": {
    error: "dependency cycle detected: service1 -> service1",
  },
  "loader/testdata/compose-include-cycle.yaml": { error: "include cycle detected" },
  "loader/testdata/compose-depends-on-profile-no-cycle.yaml": {
    skip: "upstream loads it with options that are not part of the copied data (the file is the cycle file)",
  },
  "loader/testdata/include/dir/compose.yaml": {
    error: "env file", // only valid when included with project_directory ../subdir
  },
  "loader/testdata/remote/cycle/compose.yaml": { skip: "needs compose-go's custom remote: resource loader" },
  "loader/testdata/remote/cycle/compose-cycle.yaml": { skip: "needs the remote: resource loader" },
  "loader/testdata/remote/nested/compose.yaml": { skip: "needs the remote: resource loader" },
  "schema/using-variables.yaml": { skip: "tested below: schema validation before interpolation" },
  "loader/testdata/include/project-directory.yaml": {
    check: (p) => expect(p.services.service?.environment).toEqual({ SOURCE: "extends" }),
  },
  "loader/testdata/extends/reset.yaml": {
    check: (p) => {
      expect(p.services.base?.image).toBe("alpine:latest");
      expect(p.services.base?.command).toBeUndefined();
    },
  },
  "loader/testdata/compose-test-with-version.yaml": {
    check: (p) => {
      expect(p.name).toBe("compose-test-with-version");
      expect(Object.keys(p.services.web?.networks ?? {}).sort()).toEqual(["default", "front"]);
      expect(p.volumes.data?.name).toBe("compose-test-with-version_data");
    },
  },
  "loader/testdata/compose-include.yaml": {
    check: (p) => expect(Object.keys(p.services).sort()).toEqual(["bar", "imported"]),
  },
  "cli/testdata/simple/compose-name.yaml": {
    env: { TEST: "ok" },
    check: (p) => expect(p.name).toBe("test-ok-test"),
  },
  "cli/testdata/simple/compose-with-variables.yaml": {
    check: (p) =>
      expect(p.services.simple?.ports).toEqual([
        { mode: "ingress", target: 80, published: "8000", protocol: "tcp" },
      ]),
  },
  "loader/testdata/extends/withdir/compose.yaml": {
    check: (p) => expect(p.services.test?.image).toBe("hello-world"),
  },
};

describe("compose-go loader data", () => {
  for (const f of files(ROOT, /\.ya?ml$/)) {
    const rel = relative(ROOT, f);
    const want = LOAD[rel] ?? {};
    it.skipIf(want.skip !== undefined)(rel, async () => {
      const load = loadProject({ files: [f], environment: want.env ?? {}, onWarning: () => {} });
      if (want.error !== undefined) {
        await expect(load).rejects.toThrow(want.error);
        return;
      }
      const p = await load;
      want.check?.(p);
    });
  }

  it("schema/using-variables.yaml passes the schema before interpolation", () => {
    const f = join(ROOT, "schema/using-variables.yaml");
    const src = parseYaml(readFileSync(f, "utf8"), f);
    expect(() => validateSchema(src.value, src)).not.toThrow();
  });
});

/** What upstream's godotenv tests expect of the fixtures (with OS variables where they set some). */
const DOTENV: Record<
  string,
  { expect?: Record<string, string>; os?: Record<string, string>; fails?: boolean; skip?: string }
> = {
  "plain.env": {
    expect: {
      OPTION_A: "1",
      OPTION_B: "2",
      OPTION_C: "3",
      OPTION_D: "4",
      OPTION_E: "5",
      "456": "ABC",
      OPTION_F: "",
      OPTION_G: "",
      OPTION_H: "my string",
    },
  },
  "utf8-bom.env": { expect: { OPTION_A: "1", OPTION_H: "my string" } },
  "quoted.env": {
    expect: {
      OPTION_A: "1",
      OPTION_B: "2",
      OPTION_C: "",
      OPTION_D: "\\n",
      OPTION_E: "1",
      OPTION_F: "2",
      OPTION_G: "",
      OPTION_H: "\n",
      OPTION_I: "echo 'asd'",
      OPTION_J: "first line\nsecond line\nthird line\nand so on",
      OPTION_K: "Let's go!",
      OPTION_Z: "last value",
    },
  },
  "exported.env": { expect: { OPTION_A: "2", OPTION_B: "\\n" } },
  "equals.env": { expect: { OPTION_A: "postgres://localhost:5432/database?sslmode=disable" } },
  "substitutions.env": {
    expect: { OPTION_A: "1", OPTION_B: "1", OPTION_C: "1", OPTION_D: "1_1", OPTION_E: "" },
  },
  "substitutions-default.env": {
    expect: { OPTION_A: "1", OPTION_B: "1", OPTION_C: "1", OPTION_D: "1_1", OPTION_E: "" },
  },
  "unquoted.env": {
    expect: {
      OPTION_A: "some quoted phrase",
      OPTION_B: "first one with an unquoted phrase",
      OPTION_C: "then another one with an unquoted phrase",
      OPTION_D: "then another one with an unquoted phrase special è char",
      OPTION_E: "then another one quoted phrase",
    },
  },
  "special.env": {
    expect: { "VAR.WITH.DOTS": "dots", VAR_WITH_UNDERSCORES: "underscores", "VAR-WITH-DASHES": "dashes" },
  },
  "inherited-single-var.env": {
    os: { VAR_TO_BE_LOADED_FROM_OS_ENV: "fromos" },
    expect: { VAR_TO_BE_LOADED_FROM_OS_ENV: "fromos" },
  },
  "inherited-multi-var.env": {
    os: { VAR_TO_BE_LOADED_FROM_OS_ENV: "fromos" },
    expect: { foo: "bar", VAR_TO_BE_LOADED_FROM_OS_ENV: "fromos", bar: "baz" },
  },
  "inherited-not-found.env": { expect: {} },
  "invalid1.env": { fails: true },
};

describe("compose-go dotenv data", () => {
  for (const f of files(join(ROOT, "dotenv/fixtures"), /\.env$/)) {
    const name = basename(f);
    const want = DOTENV[name] ?? {};
    it(name, () => {
      const text = readFileSync(f, "utf8");
      const parse = () => parseDotEnv(text, { filename: f, lookup: (n) => want.os?.[n] });
      if (want.fails || name.startsWith("invalid")) {
        expect(parse).toThrow(/INVALID LINE|key cannot contain/);
        return;
      }
      const got = parse();
      if (want.expect) {
        if (name === "utf8-bom.env") expect(got).toMatchObject(want.expect);
        else expect(got).toEqual(want.expect);
      }
    });
  }
});
