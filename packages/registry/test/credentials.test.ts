import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { authKey, DockerConfig, parseChallenges, StaticCredentials } from "../src/index.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-creds-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("parseChallenges", () => {
  it("parses bearer and basic challenges with quoted commas", () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"',
      ),
    ).toEqual([
      {
        scheme: "bearer",
        params: {
          realm: "https://auth.example/token",
          service: "registry.example",
          scope: "repository:a/b:pull,push",
        },
      },
    ]);
    expect(parseChallenges('Basic realm="basic-realm"')).toEqual([
      { scheme: "basic", params: { realm: "basic-realm" } },
    ]);
    expect(parseChallenges(undefined)).toEqual([]);
  });
});

describe("DockerConfig", () => {
  it("stores, reads and erases auths in docker's format", async () => {
    const cfg = new DockerConfig({ dir });
    expect(await cfg.get("127.0.0.1:5000")).toBeUndefined();
    await cfg.store("127.0.0.1:5000", { username: "u", password: "p:w" });
    const raw = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
    expect(raw.auths["127.0.0.1:5000"].auth).toBe(Buffer.from("u:p:w").toString("base64"));
    expect(await cfg.get("127.0.0.1:5000")).toEqual({ username: "u", password: "p:w" });
    expect(await cfg.erase("127.0.0.1:5000")).toBe(true);
    expect(await cfg.get("127.0.0.1:5000")).toBeUndefined();
    expect(await cfg.erase("127.0.0.1:5000")).toBe(false);
  });

  it("keys Docker Hub as docker does and keeps unknown fields", async () => {
    await writeFile(join(dir, "config.json"), JSON.stringify({ psFormat: "x", auths: {} }));
    const cfg = new DockerConfig({ dir });
    await cfg.store("docker.io", { username: "a", password: "b" });
    const raw = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
    expect(raw.psFormat).toBe("x");
    expect(Object.keys(raw.auths)).toEqual([authKey("docker.io")]);
    expect(await cfg.get("docker.io")).toEqual({ username: "a", password: "b" });
  });

  it("uses credHelpers through docker-credential-* executables", async () => {
    const bin = join(dir, "bin");
    await mkdir(bin);
    const store = join(dir, "helper-store");
    // A helper speaking the credential-helper protocol, keeping one secret in a file.
    await writeFile(
      join(bin, "docker-credential-test"),
      `#!/bin/sh
case "$1" in
  get) read url; if [ -f ${store} ]; then cat ${store}; else echo "credentials not found in native keychain"; exit 1; fi ;;
  store) cat > ${store}.in; sed 's/"ServerURL":"[^"]*",//' ${store}.in > ${store} ;;
  erase) rm -f ${store} ;;
esac
`,
    );
    await chmod(join(bin, "docker-credential-test"), 0o755);
    await writeFile(
      join(dir, "config.json"),
      JSON.stringify({ credHelpers: { "reg.example:5000": "test" } }),
    );
    const cfg = new DockerConfig({ dir, path: `${bin}:/usr/bin:/bin` });
    expect(await cfg.get("reg.example:5000")).toBeUndefined();
    await cfg.store("reg.example:5000", { username: "helper-user", password: "s3cret" });
    expect(await cfg.get("reg.example:5000")).toEqual({ username: "helper-user", password: "s3cret" });
    const raw = await readFile(join(dir, "config.json"), "utf8");
    expect(raw).not.toContain("s3cret");
    expect(await cfg.erase("reg.example:5000")).toBe(true);
    expect(await cfg.get("reg.example:5000")).toBeUndefined();
    // Hosts without a helper still use auths.
    expect(await cfg.get("other:1")).toBeUndefined();
  });

  it("StaticCredentials normalises hub keys", async () => {
    const s = new StaticCredentials({ "https://index.docker.io/v1/": { username: "x", password: "y" } });
    expect(await s.get("docker.io")).toEqual({ username: "x", password: "y" });
  });
});
