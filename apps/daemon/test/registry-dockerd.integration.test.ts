import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestRegistry } from "../../../test-fixtures/registry/TestRegistry.ts";
import { busyboxTar, run, useDaemon } from "./harness.ts";
import { hasDockerd, ReferenceDockerd } from "./referenceDockerd.ts";

// Images move between berthd and a reference dockerd (Debian's docker.io) through a real registry
// on 127.0.0.1 (docker treats loopback registries as insecure, so plain HTTP): berth push ->
// dockerd pull -> run, and dockerd push -> berth pull -> run, with the same manifest digest and
// the same output. Skipped cleanly where dockerd or docker-registry is not installed.
const hasRegistry = () => hasDockerd() && run("sh", ["-c", "command -v docker-registry"]).code === 0;

describe.skipIf(!hasRegistry())("registry round trips with a reference dockerd", () => {
  const d = useDaemon();
  const ref = new ReferenceDockerd();
  const registry = new TestRegistry("plain");
  const work = mkdtempSync(join(tmpdir(), "berth-registry-dockerd-"));
  beforeAll(async () => {
    await Promise.all([ref.start(), registry.start()]);
    const r = ref.docker(["import", "--change", 'CMD ["sh"]', busyboxTar(), "busybox:latest"]);
    if (r.code !== 0) throw new Error(`dockerd import failed: ${r.stderr}`);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([ref.stop(), registry.stop()]);
    rmSync(work, { recursive: true, force: true });
  });

  /** A two-layer image (busybox plus one RUN) whose output names who built it. */
  function context(text: string): string {
    const ctx = mkdtempSync(join(work, "ctx-"));
    writeFileSync(join(ctx, "Dockerfile"), `FROM busybox\nRUN echo ${text} > /msg\nCMD ["cat", "/msg"]\n`);
    return ctx;
  }
  const legacy = { env: { DOCKER_BUILDKIT: "0" }, timeoutMs: 120_000 };
  const digestOf = (pushOut: string) => /digest: (sha256:[0-9a-f]{64})/.exec(pushOut)?.[1];

  it("berth push -> dockerd pull -> run", () => {
    const name = `${registry.host}/interop/from-berth:1`;
    expect(d.docker(["build", "-q", "-t", name, context("made-by-berth")], legacy).code).toBe(0);
    const push = d.berth(["push", name]);
    expect(push.code, push.stderr).toBe(0);
    const digest = digestOf(push.stdout);
    expect(digest).toBeDefined();
    const pull = ref.docker(["pull", name]);
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.stdout).toContain(`Digest: ${digest}`);
    expect(ref.docker(["run", "--rm", "--network", "none", name]).stdout).toBe("made-by-berth\n");
    // The same image ID on both sides.
    const id = (x: { docker: (a: string[]) => { stdout: string } }) =>
      x.docker(["image", "inspect", "-f", "{{.Id}}", name]).stdout.trim();
    expect(id(ref)).toBe(id(d));
  });

  it("dockerd push -> berth pull -> run", () => {
    const name = `${registry.host}/interop/from-dockerd:1`;
    expect(ref.docker(["build", "-q", "-t", name, context("made-by-dockerd")], legacy).code).toBe(0);
    const push = ref.docker(["push", name]);
    expect(push.code, push.stderr).toBe(0);
    const digest = digestOf(push.stdout);
    const pull = d.berth(["pull", name]);
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.stdout).toContain(`Digest: ${digest}`);
    expect(d.docker(["run", "--rm", name]).stdout).toBe("made-by-dockerd\n");
    const id = (x: { docker: (a: string[]) => { stdout: string } }) =>
      x.docker(["image", "inspect", "-f", "{{.Id}}", name]).stdout.trim();
    expect(id(d)).toBe(id(ref));
  });
});
