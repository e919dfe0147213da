import { createReadStream, readFileSync } from "node:fs";
import { join } from "node:path";
import { ImageStore } from "@berth/image";
import { OCI_INDEX } from "@berth/oci";
import { pushImage, RegistryClient } from "@berth/registry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSWORD, TestRegistry, USER } from "../../../test-fixtures/registry/TestRegistry.ts";
import { buildApps, busyboxTar, repo, run, useDaemon } from "./harness.ts";

// docker pull / push / login / logout and the implicit pull of docker run, with the real docker
// CLI (v28) and berth against berthd, and a real docker-registry in three setups.
const plain = new TestRegistry("plain");
const tls = new TestRegistry("basic-tls");
const token = new TestRegistry("token");
// berthd (started by useDaemon, inheriting this environment) finds the test CA here.
process.env.BERTH_CERTS_DIR = tls.certsDir;
const d = useDaemon();

beforeAll(async () => {
  await Promise.all([plain.start(), tls.start(), token.start()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([plain.stop(), tls.stop(), token.stop()]);
});

function ok(args: string[], input?: string): string {
  const r = d.docker(args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`docker ${args.join(" ")} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

function berthOk(args: string[], input?: string): string {
  const r = d.berth(args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`berth ${args.join(" ")} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

describe("docker CLI against a registry without auth", () => {
  it("pushes, pulls, is up to date, pulls by digest", async () => {
    const name = `${plain.host}/bb`;
    ok(["tag", "busybox", name]);
    const push = ok(["push", name]);
    const lines = push.trim().split("\n");
    expect(lines.shift()).toBe("Using default tag: latest");
    expect(lines[0]).toBe(`The push refers to repository [${name}]`);
    expect(lines[1]).toMatch(/^[0-9a-f]{12}: Preparing$/);
    expect(push).toMatch(/^[0-9a-f]{12}: Pushed$/m);
    const last = lines[lines.length - 1]!;
    expect(last).toMatch(/^latest: digest: sha256:[0-9a-f]{64} size: \d+$/);
    const digest = last.split(" ")[2]!;

    const again = ok(["push", name]);
    expect(again).toMatch(/^[0-9a-f]{12}: Layer already exists$/m);

    ok(["rmi", name]);
    const pull = ok(["pull", name]);
    expect(pull).toBe(
      `Using default tag: latest\nlatest: Pulling from bb\nDigest: ${digest}\nStatus: Downloaded newer image for ${name}:latest\n${name}:latest\n`,
    );
    const events = await d.api(
      "GET",
      `/v1.41/events?until=${Math.ceil(Date.now() / 1000) + 1}&filters=${encodeURIComponent(JSON.stringify({ type: ["image"] }))}`,
    );
    const actions = events.body
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { Action: string; Actor: { ID: string; Attributes: { name: string } } })
      .filter((e) => e.Action === "pull" || e.Action === "push")
      .map((e) => `${e.Action} ${e.Actor.ID} ${e.Actor.Attributes.name}`);
    expect(actions).toEqual(
      expect.arrayContaining([`push ${name}:latest ${name}`, `pull ${name}:latest ${name}`]),
    );
    const upToDate = ok(["pull", name]);
    expect(upToDate).toContain(`Status: Image is up to date for ${name}:latest`);
    const byDigest = ok(["pull", `${name}@${digest}`]);
    expect(byDigest).toContain(`${name}@${digest}: Pulling from bb`);
    expect(byDigest).toContain(`Digest: ${digest}`);
    const [info] = JSON.parse(ok(["image", "inspect", `${name}:latest`])) as Array<{ RepoDigests: string[] }>;
    expect(info!.RepoDigests).toContain(`${name}@${digest}`);
  });

  it("pulls layers it does not have, then runs the image; docker run pulls a missing image", () => {
    const name = `${plain.host}/fresh:1`;
    // A second image with its own layer, pushed, then removed with its layer.
    const build = d.docker(["build", "-t", name, "-"], {
      input: "FROM busybox\nRUN echo fresh > /fresh.txt\n",
    });
    if (build.code !== 0) throw new Error(build.stderr + build.stdout);
    ok(["push", name]);
    ok(["rmi", name]);
    const run = d.docker(["run", "--rm", name, "cat", "/fresh.txt"]);
    expect(run.stderr).toContain(`Unable to find image '${name}' locally`);
    expect(run.stderr).toMatch(/^[0-9a-f]{12}: Pull complete$/m);
    expect(run.stderr).toMatch(/^[0-9a-f]{12}: Already exists$/m);
    expect(run.stdout).toBe("fresh\n");
    expect(run.code).toBe(0);
  });

  it("pulls every tag with --all-tags", () => {
    const repo = `${plain.host}/alltags`;
    ok(["tag", "busybox", `${repo}:a`]);
    ok(["tag", "busybox", `${repo}:b`]);
    ok(["push", `${repo}:a`]);
    ok(["push", `${repo}:b`]);
    ok(["rmi", `${repo}:a`, `${repo}:b`]);
    const out = ok(["pull", "--all-tags", repo]);
    expect(out).toMatch(/^a: Pulling from alltags$/m);
    expect(out).toMatch(/^b: Pulling from alltags$/m);
    expect(out).toContain(`Status: Downloaded newer image for ${repo}`);
    const [a, b] = JSON.parse(ok(["image", "inspect", `${repo}:a`, `${repo}:b`])) as Array<{
      RepoTags: string[];
    }>;
    expect(a!.RepoTags).toEqual(expect.arrayContaining([`${repo}:a`, `${repo}:b`]));
    expect(b!.RepoTags).toEqual(a!.RepoTags);
  });

  it("pulls the platform asked for from a multi-platform index", async () => {
    // Two single-platform images and an OCI index over them, pushed by the library.
    const store = await ImageStore.open({ root: join(d.dir, "index-src") });
    const amd = await store.importRootfs(createReadStream(busyboxTar()), {
      ref: `${plain.host}/multi:amd64`,
      platform: { os: "linux", architecture: "amd64" },
    });
    const arm = await store.importRootfs(createReadStream(busyboxTar()), {
      ref: `${plain.host}/multi:arm64`,
      platform: { os: "linux", architecture: "arm64", variant: "v8" },
    });
    const client = new RegistryClient();
    await pushImage(client, store, `${plain.host}/multi:amd64`);
    await pushImage(client, store, `${plain.host}/multi:arm64`);
    const entry = async (img: typeof amd, platform: object) => ({
      mediaType: img.manifestMediaType,
      digest: img.manifestDigest,
      size: (await store.content.info(img.manifestDigest)).size,
      platform,
    });
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          await entry(arm, { os: "linux", architecture: "arm64", variant: "v8" }),
          await entry(amd, { os: "linux", architecture: "amd64" }),
        ],
      }),
    );
    const indexDigest = await client.putManifest(
      { domain: plain.host, path: "multi" },
      "latest",
      index,
      OCI_INDEX,
    );

    const armPull = ok(["pull", "--platform", "linux/arm64", `${plain.host}/multi`]);
    expect(armPull).toContain(`Digest: ${indexDigest}`);
    const [armInfo] = JSON.parse(ok(["image", "inspect", `${plain.host}/multi:latest`])) as Array<{
      Id: string;
      Architecture: string;
    }>;
    expect(armInfo!.Id).toBe(arm.id);
    expect(armInfo!.Architecture).toBe("arm64");
    ok(["rmi", `${plain.host}/multi:latest`]);
    ok(["pull", `${plain.host}/multi`]);
    const [amdInfo] = JSON.parse(ok(["image", "inspect", `${plain.host}/multi:latest`])) as Array<{
      Id: string;
    }>;
    expect(amdInfo!.Id).toBe(amd.id);
    const dist = await d.api("GET", `/v1.41/distribution/${plain.host}/multi:latest/json`);
    expect(JSON.parse(dist.body)).toMatchObject({
      Descriptor: { digest: indexDigest, mediaType: OCI_INDEX },
      Platforms: [
        { os: "linux", architecture: "arm64", variant: "v8" },
        { os: "linux", architecture: "amd64" },
      ],
    });
  });

  it("mounts a layer from another repository", () => {
    ok(["tag", "busybox", `${plain.host}/base:1`]);
    ok(["push", `${plain.host}/base:1`]);
    ok(["tag", "busybox", `${plain.host}/derived:1`]);
    const push = ok(["push", `${plain.host}/derived:1`]);
    expect(push).toMatch(/^[0-9a-f]{12}: Mounted from \S+$/m);
  });

  it("answers a missing repository with docker's message", () => {
    const r = d.docker(["pull", `${plain.host}/nosuch:latest`]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `Error response from daemon: manifest for ${plain.host}/nosuch:latest not found: manifest unknown: manifest unknown`,
    );
  });

  it("reports the registry's manifest in /distribution/{name}/json", async () => {
    const res = await d.api("GET", `/v1.41/distribution/${plain.host}/bb:latest/json`);
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body) as { Descriptor: { digest: string }; Platforms: unknown[] };
    expect(body.Descriptor.digest).toMatch(/^sha256:/);
    expect(body.Platforms).toEqual([{ architecture: "amd64", os: "linux" }]);
  });
});

describe("docker CLI against htpasswd basic auth over TLS", () => {
  it("says to log in, logs in, pushes and pulls, logs out", () => {
    const name = `${tls.host}/bb`;
    ok(["tag", "busybox", name]);
    const denied = d.docker(["push", name]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr + denied.stdout).toMatch(/no basic auth credentials for .*: log in first/);

    const wrong = d.docker(["login", tls.host, "-u", USER, "--password-stdin"], { input: "wrong\n" });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain(
      `Error response from daemon: login attempt to https://${tls.host}/v2/ failed with status: 401 Unauthorized`,
    );

    const login = d.docker(["login", tls.host, "-u", USER, "--password-stdin"], { input: `${PASSWORD}\n` });
    expect(login.code).toBe(0);
    expect(login.stdout).toContain("Login Succeeded");
    const cfg = JSON.parse(readFileSync(join(d.dir, "docker-config", "config.json"), "utf8")) as {
      auths: Record<string, unknown>;
    };
    expect(Object.keys(cfg.auths)).toContain(tls.host);

    const push = ok(["push", name]);
    expect(push).toMatch(/^latest: digest: sha256:[0-9a-f]{64} size: \d+$/m);
    ok(["rmi", name]);
    expect(ok(["pull", name])).toContain(`Status: Downloaded newer image for ${name}:latest`);

    expect(ok(["logout", tls.host])).toContain(`Removing login credentials for ${tls.host}`);
    ok(["rmi", name]);
    const after = d.docker(["pull", name]);
    expect(after.code).toBe(1);
    expect(after.stderr).toMatch(/Error response from daemon: .*no basic auth credentials/);
    // Credentials never reach the daemon's log.
    expect(d.log).not.toContain(PASSWORD);
    expect(d.log).not.toContain(Buffer.from(`${USER}:${PASSWORD}`).toString("base64"));
  });
});

describe("docker CLI against token auth", () => {
  it("logs in through the token server, pushes and pulls", () => {
    const name = `${token.host}/team/bb:1`;
    const login = d.docker(["login", token.host, "-u", USER, "-p", PASSWORD]);
    expect(login.code).toBe(0);
    ok(["tag", "busybox", name]);
    expect(ok(["push", name])).toMatch(/^1: digest: sha256:[0-9a-f]{64} size: \d+$/m);
    ok(["rmi", name]);
    expect(ok(["pull", name])).toContain(`Status: Downloaded newer image for ${name}`);
    expect(token.issuer!.requests.some((r) => r.user === USER)).toBe(true);
  });
});

describe("berth CLI", () => {
  it("logs in to a basic-auth registry, stores docker's config.json, pushes and pulls with it, logs out", () => {
    buildApps();
    const config = join(d.dir, "berth-docker-config");
    const berth = (args: string[], input = "") =>
      run(process.execPath, [join(repo, "apps/cli/bin/berth.js"), ...args], {
        input,
        env: { DOCKER_HOST: d.host, BERTH_NO_AUTOSTART: "1", DOCKER_CONFIG: config },
      });
    const name = `${tls.host}/berth-login`;
    expect(berth(["tag", "busybox", name]).code).toBe(0);
    const denied = berth(["push", name]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/no basic auth credentials for .*: log in first \(berth login /);

    const wrong = berth(["login", tls.host, "-u", USER, "--password-stdin"], "wrong\n");
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain(
      `login attempt to https://${tls.host}/v2/ failed with status: 401 Unauthorized`,
    );

    const login = berth(["login", tls.host, "-u", USER, "--password-stdin"], `${PASSWORD}\n`);
    expect(login.code).toBe(0);
    expect(login.stdout).toBe("Login Succeeded\n");
    const stored = JSON.parse(readFileSync(join(config, "config.json"), "utf8")) as {
      auths: Record<string, { auth: string }>;
    };
    expect(Buffer.from(stored.auths[tls.host]!.auth, "base64").toString()).toBe(`${USER}:${PASSWORD}`);

    const push = berth(["push", name]);
    expect(push.code).toBe(0);
    expect(push.stdout).toMatch(/^latest: digest: sha256:[0-9a-f]{64} size: \d+$/m);
    expect(berth(["rmi", name]).code).toBe(0);
    const pull = berth(["pull", name]);
    expect(pull.code).toBe(0);
    expect(pull.stdout).toContain(`Status: Downloaded newer image for ${name}:latest`);

    // In a terminal (script(1) gives berth a pty), login prompts for what the flags did not give.
    const tty = run(
      "script",
      ["-qec", `${process.execPath} ${join(repo, "apps/cli/bin/berth.js")} login ${tls.host}`, "/dev/null"],
      {
        input: `${USER}\n${PASSWORD}\n`,
        env: { DOCKER_HOST: d.host, BERTH_NO_AUTOSTART: "1", DOCKER_CONFIG: config },
      },
    );
    expect(tty.stdout).toContain("Username: ");
    expect(tty.stdout).toContain("Password: ");
    expect(tty.stdout).toContain("Login Succeeded");
    expect(berth(["logout", tls.host]).stdout).toBe(`Removing login credentials for ${tls.host}\n`);
    expect(berth(["logout", tls.host]).stdout).toBe(`Not logged in to ${tls.host}\n`);
    const after = berth(["pull", name]);
    expect(after.code).not.toBe(0);
  });

  it("pushes, pulls, logs in and out like docker", () => {
    const name = `${plain.host}/berth-cli`;
    berthOk(["tag", "busybox", name]);
    const push = berthOk(["push", name]);
    expect(push).toContain(`The push refers to repository [${name}]`);
    expect(push).toMatch(/^latest: digest: sha256:[0-9a-f]{64} size: \d+$/m);
    berthOk(["rmi", name]);
    const pull = berthOk(["pull", name]);
    expect(pull).toMatch(/^latest: Pulling from berth-cli$/m);
    expect(pull.split("\n")[0]).toBe("Using default tag: latest");
    expect(pull).toContain(`Status: Downloaded newer image for ${name}:latest`);
    expect(pull.trim().split("\n").at(-1)).toBe(`${name}:latest`);
    expect(berthOk(["pull", "-q", name])).toBe(`${name}:latest\n`);
    // berth run pulls a missing image first, as docker does.
    berthOk(["rmi", name]);
    const run = d.berth(["run", "--rm", name, "echo", "pulled"]);
    expect(run.stderr).toContain(`Unable to find image '${name}:latest' locally`);
    expect(run.stdout).toBe("pulled\n");
    expect(run.code).toBe(0);
  });
});
