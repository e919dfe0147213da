import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { ImageStore } from "@berth/image";
import { type Digest, OCI_INDEX, sha256 } from "@berth/oci";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSWORD, TestRegistry, USER } from "../../../test-fixtures/registry/TestRegistry.ts";
import { type ProgressEvent, pullImage, pushImage, RegistryClient, StaticCredentials } from "../src/index.ts";

const work = await mkdtemp(join(tmpdir(), "berth-registry-test-"));
afterAll(() => rm(work, { recursive: true, force: true }));

let n = 0;
async function newStore(): Promise<ImageStore> {
  return ImageStore.open({ root: join(work, `store-${n++}`) });
}

/** makeTar writes a tar of a directory with one file of `bytes` random bytes and returns its path. */
async function makeTar(name: string, bytes: number): Promise<string> {
  const dir = join(work, `rootfs-${name}`);
  await mkdir(join(dir, "etc"), { recursive: true });
  await writeFile(join(dir, "etc", "name"), `${name}\n`);
  await writeFile(join(dir, "payload"), randomBytes(bytes));
  const out = join(work, `${name}.tar`);
  execFileSync("tar", ["-C", dir, "-cf", out, "."]);
  return out;
}

async function importImage(
  store: ImageStore,
  ref: string,
  tar: string,
  platform?: { os: string; architecture: string },
) {
  return store.importRootfs(createReadStream(tar), { ref, ...(platform ? { platform } : {}) });
}

/** failure awaits a rejection and checks its kind and message. */
async function failure(p: Promise<unknown>, tag: string, message: RegExp | string): Promise<Error> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e as Error & { _tag?: string },
  );
  expect(err, "expected a rejection").toBeInstanceOf(Error);
  expect(err!._tag).toBe(tag);
  if (typeof message === "string") expect(err!.message).toBe(message);
  else expect(err!.message).toMatch(message);
  return err!;
}

async function storeIsEmpty(store: ImageStore): Promise<void> {
  expect(store.list()).toEqual([]);
  expect(await store.content.list()).toEqual([]);
  expect(await readdir(store.content.ingestDir)).toEqual([]);
}

/** proxy forwards to `target`, letting `onBlob` rewrite or cut blob GET answers. */
async function proxy(
  target: number,
  onBlob: (path: string, body: Buffer, res: import("node:http").ServerResponse) => void,
): Promise<{ port: number; server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const up = request(
      { host: "127.0.0.1", port: target, method: req.method, path: req.url, headers: req.headers },
      (ur) => {
        const isBlob = req.method === "GET" && /\/blobs\/sha256:/.test(req.url ?? "");
        if (!isBlob) {
          res.writeHead(ur.statusCode ?? 502, ur.headers);
          ur.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        ur.on("data", (c: Buffer) => chunks.push(c));
        ur.on("end", () => {
          res.writeHead(ur.statusCode ?? 502, ur.headers);
          onBlob(req.url ?? "", Buffer.concat(chunks), res);
        });
      },
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as AddressInfo).port, server, sockets };
}

async function fakeRegistry(handler: (path: string) => { status: number; type?: string; body: Buffer }) {
  const server = createServer((req, res) => {
    const a = handler(req.url ?? "");
    res.writeHead(a.status, {
      "Content-Type": a.type ?? "application/json",
      "Content-Length": a.body.length,
    });
    res.end(req.method === "HEAD" ? undefined : a.body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, host: `127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe("plain registry (no auth)", () => {
  const reg = new TestRegistry("plain");
  let src: ImageStore;
  let small: string;
  let big: string;
  const client = () => new RegistryClient({ retries: 1, retryDelayMs: 50 });
  beforeAll(async () => {
    await reg.start();
    src = await newStore();
    small = await makeTar("small", 64 * 1024);
    big = await makeTar("big", 3 * 1024 * 1024);
  });
  afterAll(() => reg.stop());

  it("pushes an image and pulls it back by tag and by digest", async () => {
    const img = await importImage(src, `${reg.host}/app:1`, small);
    const pushEvents: ProgressEvent[] = [];
    const pushed = await pushImage(client(), src, `${reg.host}/app:1`, {
      onProgress: (e) => pushEvents.push(e),
    });
    expect(pushed.digest).toBe(img.manifestDigest);
    expect(pushed.tag).toBe("1");
    const layerId = img.layers[0]!.digest.slice(7, 19);
    expect(pushEvents.map((e) => `${e.id}: ${e.status}`)).toContain(`${layerId}: Preparing`);
    expect(pushEvents.map((e) => `${e.id}: ${e.status}`)).toContain(`${layerId}: Pushed`);

    const again: ProgressEvent[] = [];
    await pushImage(client(), src, `${reg.host}/app:1`, { onProgress: (e) => again.push(e) });
    expect(again.map((e) => e.status)).toContain("Layer already exists");

    const dst = await newStore();
    const events: ProgressEvent[] = [];
    const pulled = await pullImage(client(), dst, `${reg.host}/app:1`, { onProgress: (e) => events.push(e) });
    expect(pulled.image.id).toBe(img.id);
    expect(pulled.digest).toBe(img.manifestDigest);
    expect(pulled.upToDate).toBe(false);
    expect(pulled.image.repoTags).toEqual([`${reg.host}/app:1`]);
    expect(pulled.image.repoDigests).toEqual([`${reg.host}/app@${img.manifestDigest}`]);
    expect(events.map((e) => e.status)).toEqual(
      expect.arrayContaining(["Pulling fs layer", "Downloading", "Verifying Checksum", "Download complete"]),
    );
    await dst.content.verify(img.layers[0]!.digest);

    const second: ProgressEvent[] = [];
    const re = await pullImage(client(), dst, `${reg.host}/app:1`, { onProgress: (e) => second.push(e) });
    expect(re.upToDate).toBe(true);
    expect(second).toEqual([]);
    // Another image sharing the layer reports it as already there.
    await dst.remove(img.id);
    await dst.content.put(await src.content.readBytes(img.layers[0]!.digest, 1 << 30));
    const third: ProgressEvent[] = [];
    await pullImage(client(), dst, `${reg.host}/app:1`, { onProgress: (e) => third.push(e) });
    expect(third.map((e) => e.status)).toEqual(["Already exists"]);

    const byDigest = await newStore();
    const d = await pullImage(client(), byDigest, `${reg.host}/app@${img.manifestDigest}`);
    expect(d.image.id).toBe(img.id);
    expect(d.image.repoTags).toEqual([]);
    expect(d.image.repoDigests).toEqual([`${reg.host}/app@${img.manifestDigest}`]);
  });

  it("mounts a layer from another repository instead of uploading it", async () => {
    const img = await importImage(src, `${reg.host}/base:1`, big);
    await pushImage(client(), src, `${reg.host}/base:1`);
    await src.tag(`${reg.host}/base:1`, `${reg.host}/derived:1`);
    const events: ProgressEvent[] = [];
    await pushImage(client(), src, `${reg.host}/derived:1`, { onProgress: (e) => events.push(e) });
    const id = img.layers[0]!.digest.slice(7, 19);
    expect(events.map((e) => `${e.id}: ${e.status}`)).toContain(`${id}: Mounted from base`);
    expect(events.some((e) => e.status === "Pushing")).toBe(false);
    const dst = await newStore();
    expect((await pullImage(client(), dst, `${reg.host}/derived:1`)).image.id).toBe(img.id);
  });

  it("uploads in chunks when asked", async () => {
    const img = await importImage(src, `${reg.host}/chunked:1`, big);
    const events: ProgressEvent[] = [];
    await pushImage(client(), src, `${reg.host}/chunked:1`, {
      chunkSize: 512 * 1024,
      mountCandidates: () => [],
      onProgress: (e) => events.push(e),
    });
    // A fresh repository with no mount source: the layer went up in PATCH chunks.
    expect(events.filter((e) => e.status === "Pushing").length).toBeGreaterThan(0);
    const dst = await newStore();
    const pulled = await pullImage(client(), dst, `${reg.host}/chunked:1`);
    expect(pulled.image.id).toBe(img.id);
    await dst.content.verify(img.layers[0]!.digest);
  });

  it("selects the platform's manifest from a multi-platform index", async () => {
    const amd = await importImage(src, `${reg.host}/multi:amd64`, small, {
      os: "linux",
      architecture: "amd64",
    });
    const arm = await importImage(src, `${reg.host}/multi:arm64`, small, {
      os: "linux",
      architecture: "arm64",
    });
    await pushImage(client(), src, `${reg.host}/multi:amd64`);
    await pushImage(client(), src, `${reg.host}/multi:arm64`);
    const size = async (d: Digest) => (await src.content.info(d)).size;
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          {
            mediaType: arm.manifestMediaType,
            digest: arm.manifestDigest,
            size: await size(arm.manifestDigest),
            platform: { os: "linux", architecture: "arm64" },
          },
          {
            mediaType: amd.manifestMediaType,
            digest: amd.manifestDigest,
            size: await size(amd.manifestDigest),
            platform: { os: "linux", architecture: "amd64" },
          },
        ],
      }),
    );
    const indexDigest = await client().putManifest(
      { domain: reg.host, path: "multi" },
      "latest",
      index,
      OCI_INDEX,
    );
    expect(indexDigest).toBe(sha256(index));

    const dst = await newStore();
    const def = await pullImage(client(), dst, `${reg.host}/multi`);
    expect(def.image.id).toBe(amd.id);
    expect(def.digest).toBe(indexDigest);
    expect(def.manifestDigest).toBe(amd.manifestDigest);
    expect(def.image.repoDigests).toEqual([`${reg.host}/multi@${indexDigest}`]);
    const armStore = await newStore();
    const a = await pullImage(client(), armStore, `${reg.host}/multi:latest`, {
      platform: { os: "linux", architecture: "arm64", variant: "v8" },
    });
    expect(a.image.id).toBe(arm.id);
    await failure(
      pullImage(client(), await newStore(), `${reg.host}/multi`, {
        platform: { os: "linux", architecture: "s390x" },
      }),
      "NotFound",
      /no matching manifest for linux\/s390x/,
    );
  });

  it("refuses a blob whose bytes do not match its digest (tampering proxy) and stores nothing", async () => {
    await importImage(src, `${reg.host}/tamper:1`, small);
    await pushImage(client(), src, `${reg.host}/tamper:1`);
    const p = await proxy(reg.port, (_path, body, res) => {
      if (body.length > 1000) body[body.length >> 1]! ^= 0xff;
      res.end(body);
    });
    try {
      const dst = await newStore();
      await failure(
        pullImage(client(), dst, `127.0.0.1:${p.port}/tamper:1`),
        "FailedPrecondition",
        /unexpected commit digest sha256:[0-9a-f]{64}, expected sha256:/,
      );
      await storeIsEmpty(dst);
    } finally {
      p.server.close();
    }
  });

  it("refuses a layer whose content does not match the config's diff ID and stores nothing", async () => {
    const img = await importImage(src, `${reg.host}/liar:1`, small);
    const c = client();
    const repo = { domain: reg.host, path: "liar" };
    const layer = img.layers[0]!;
    await c.uploadBlob(repo, layer.digest, layer.size, () => src.content.readStream(layer.digest));
    const config = JSON.parse((await src.content.readBytes(img.id, 1 << 20)).toString()) as {
      rootfs: { diff_ids: string[] };
    };
    config.rootfs.diff_ids = [sha256("something else")];
    const cbytes = Buffer.from(JSON.stringify(config));
    await c.uploadBlob(repo, sha256(cbytes), cbytes.length, async () => Readable.from([cbytes]));
    const manifest = JSON.parse((await src.content.readBytes(img.manifestDigest, 1 << 20)).toString()) as {
      config: { digest: string; size: number };
    };
    manifest.config = { ...manifest.config, digest: sha256(cbytes), size: cbytes.length };
    await c.putManifest(repo, "1", Buffer.from(JSON.stringify(manifest)), img.manifestMediaType);
    const dst = await newStore();
    await failure(pullImage(c, dst, `${reg.host}/liar:1`), "FailedPrecondition", /layer diff ID mismatch/);
    await storeIsEmpty(dst);
    // With the genuine layer already stored, the lie is caught without downloading anything.
    await src.tag(img.id, `${reg.host}/liar:real`);
    await pushImage(c, src, `${reg.host}/liar:real`);
    const warm = await newStore();
    await pullImage(c, warm, `${reg.host}/liar:real`);
    await failure(pullImage(c, warm, `${reg.host}/liar:1`), "FailedPrecondition", /is stored with diff ID/);
    expect(warm.list().map((i) => i.id)).toEqual([img.id]);
  });

  it("refuses an oversized or malformed manifest", async () => {
    const big = Buffer.alloc(5 * 1024 * 1024, 0x20);
    const fake = await fakeRegistry((path) => {
      if (path === "/v2/") return { status: 200, body: Buffer.from("{}") };
      if (path.endsWith("/manifests/big"))
        return { status: 200, type: "application/vnd.oci.image.manifest.v1+json", body: big };
      return {
        status: 200,
        type: "application/vnd.oci.image.manifest.v1+json",
        body: Buffer.from('{"schemaVersion":2,"config":{"mediaType":"x"},"layers":"nope"}'),
      };
    });
    try {
      const dst = await newStore();
      await failure(
        pullImage(client(), dst, `${fake.host}/x:big`),
        "ResourceExhausted",
        /larger than the limit of 4194304 bytes/,
      );
      await failure(
        pullImage(client(), dst, `${fake.host}/x:bad`),
        "InvalidArgument",
        /invalid image manifest/,
      );
      await storeIsEmpty(dst);
    } finally {
      fake.server.close();
    }
  });

  it("retries 5xx answers with backoff", async () => {
    const img = await importImage(src, `${reg.host}/flaky:1`, small);
    const manifest = await src.content.readBytes(img.manifestDigest, 1 << 20);
    let failures = 0;
    const fake = await fakeRegistry((path) => {
      if (path === "/v2/") return { status: 200, body: Buffer.from("{}") };
      if (path.includes("/manifests/") && failures < 2) {
        failures++;
        return {
          status: 503,
          body: Buffer.from('{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}'),
        };
      }
      if (path.includes("/manifests/")) return { status: 200, type: img.manifestMediaType, body: manifest };
      return { status: 404, body: Buffer.from("{}") };
    });
    try {
      const started = Date.now();
      const m = await new RegistryClient({ retries: 3, retryDelayMs: 50 }).getManifest(
        { domain: fake.host, path: "flaky" },
        "1",
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(150); // 50 ms, then 100 ms
      expect(m.digest).toBe(img.manifestDigest);
      expect(failures).toBe(2);
      failures = -10; // never recovers within the retry budget
      await failure(
        new RegistryClient({ retries: 2, retryDelayMs: 10 }).getManifest(
          { domain: fake.host, path: "flaky" },
          "1",
        ),
        "Unavailable",
        /unavailable: try later/,
      );
    } finally {
      fake.server.close();
    }
  });

  it("never sends credentials to another host on a redirect", async () => {
    const img = await importImage(src, `${reg.host}/redirected:1`, small);
    const manifest = await src.content.readBytes(img.manifestDigest, 1 << 20);
    const storageAuth: Array<string | undefined> = [];
    const storage = createServer(async (req, res) => {
      storageAuth.push(req.headers.authorization);
      const digest = (req.url ?? "").slice(1) as Digest;
      const bytes = await src.content.readBytes(digest, 1 << 30);
      res.writeHead(200, { "Content-Length": bytes.length });
      res.end(bytes);
    });
    await new Promise<void>((r) => storage.listen(0, "127.0.0.1", r));
    const storagePort = (storage.address() as AddressInfo).port;
    const registryAuth: Array<string | undefined> = [];
    const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`;
    const registry = createServer((req, res) => {
      registryAuth.push(req.headers.authorization);
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { "WWW-Authenticate": 'Basic realm="test"', "Content-Length": 0 });
        res.end();
        return;
      }
      const path = req.url ?? "";
      if (path === "/v2/") {
        res.end("{}");
      } else if (path.includes("/manifests/")) {
        res.writeHead(200, { "Content-Type": img.manifestMediaType, "Content-Length": manifest.length });
        res.end(manifest);
      } else {
        const digest = path.slice(path.lastIndexOf("/") + 1);
        res.writeHead(307, { Location: `http://127.0.0.1:${storagePort}/${digest}`, "Content-Length": 0 });
        res.end();
      }
    });
    await new Promise<void>((r) => registry.listen(0, "127.0.0.1", r));
    const host = `127.0.0.1:${(registry.address() as AddressInfo).port}`;
    try {
      const dst = await newStore();
      const c = new RegistryClient({
        credentials: new StaticCredentials({ [host]: { username: USER, password: PASSWORD } }),
      });
      const pulled = await pullImage(c, dst, `${host}/redirected:1`);
      expect(pulled.image.id).toBe(img.id);
      expect(storageAuth.length).toBe(2); // config and layer
      expect(storageAuth.every((a) => a === undefined)).toBe(true);
      expect(registryAuth.filter((a) => a === expected).length).toBeGreaterThanOrEqual(3);
    } finally {
      registry.close();
      storage.close();
    }
  });

  it("interoperates with skopeo: berth's pushed manifest inspects, skopeo's pushed image pulls", async () => {
    const img = await importImage(src, `${reg.host}/interop:1`, small);
    const pushed = await pushImage(client(), src, `${reg.host}/interop:1`);
    const skopeo = (...args: string[]) => execFileSync("skopeo", args, { encoding: "utf8" });
    const info = JSON.parse(skopeo("inspect", "--tls-verify=false", `docker://${reg.host}/interop:1`)) as {
      Digest: string;
      Architecture: string;
      Layers: string[];
    };
    expect(info.Digest).toBe(pushed.digest);
    expect(info.Layers).toEqual([img.layers[0]!.digest]);
    const raw = skopeo("inspect", "--raw", "--tls-verify=false", `docker://${reg.host}/interop:1`);
    expect(sha256(raw)).toBe(pushed.digest);
    // skopeo recompresses into a Docker schema2 image with gzip layers under another name.
    skopeo(
      "copy",
      "--src-tls-verify=false",
      "--dest-tls-verify=false",
      "--format",
      "v2s2",
      "--dest-compress",
      `docker://${reg.host}/interop:1`,
      `docker://${reg.host}/by-skopeo:1`,
    );
    const dst = await newStore();
    const pulled = await pullImage(client(), dst, `${reg.host}/by-skopeo:1`);
    expect(pulled.image.id).toBe(img.id);
    expect(pulled.image.manifestMediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
    expect(pulled.image.layers[0]!.mediaType).toBe("application/vnd.docker.image.rootfs.diff.tar.gzip");
  });

  it("answers a missing tag with docker's manifest unknown message", async () => {
    await failure(
      pullImage(client(), await newStore(), `${reg.host}/nosuch:latest`),
      "NotFound",
      `manifest for ${reg.host}/nosuch:latest not found: manifest unknown: manifest unknown`,
    );
  });

  it("retries, then fails clearly, when the registry dies mid-pull, leaving nothing half-stored", async () => {
    await importImage(src, `${reg.host}/dying:1`, big);
    await pushImage(client(), src, `${reg.host}/dying:1`);
    let cut = false;
    const p = await proxy(reg.port, (_path, body, res) => {
      if (body.length < 100_000) {
        res.end(body);
        return;
      }
      // Half the layer, then the registry and the proxy go away.
      res.write(body.subarray(0, body.length >> 1));
      cut = true;
      void reg.kill().then(() => {
        p.server.close();
        for (const s of p.sockets) s.destroy();
      });
    });
    const dst = await newStore();
    const started = Date.now();
    const err = await pullImage(
      new RegistryClient({ retries: 2, retryDelayMs: 50 }),
      dst,
      `127.0.0.1:${p.port}/dying:1`,
      {
        layerAttempts: 3,
      },
    ).catch((e: unknown) => e as Error);
    expect(cut).toBe(true);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(
      /failed to download layer sha256:[0-9a-f]{64} after 3 attempts: .*ECONNREFUSED/,
    );
    expect(Date.now() - started).toBeLessThan(30_000);
    await storeIsEmpty(dst);
    await reg.start();
  });
});

describe("htpasswd basic auth over TLS", () => {
  const reg = new TestRegistry("basic-tls");
  let src: ImageStore;
  beforeAll(async () => {
    await reg.start();
    src = await newStore();
  });
  afterAll(() => reg.stop());
  const authed = () =>
    new RegistryClient({
      certsDir: reg.certsDir,
      credentials: new StaticCredentials({ [reg.host]: { username: USER, password: PASSWORD } }),
    });

  it("says to log in when no credentials are given", async () => {
    const anon = new RegistryClient({ certsDir: reg.certsDir });
    await failure(
      pullImage(anon, await newStore(), `${reg.host}/app:1`),
      "Unauthorized",
      new RegExp(`no basic auth credentials for ${reg.host}: log in first`),
    );
  });

  it("checks a login and refuses a wrong password", async () => {
    await new RegistryClient({ certsDir: reg.certsDir }).checkLogin(reg.host, {
      username: USER,
      password: PASSWORD,
    });
    await failure(
      new RegistryClient({ certsDir: reg.certsDir }).checkLogin(reg.host, {
        username: USER,
        password: "wrong",
      }),
      "Unauthorized",
      `login attempt to https://${reg.host}/v2/ failed with status: 401 Unauthorized`,
    );
  });

  it("reaches a loopback TLS registry without its CA, as docker does for insecure registries", async () => {
    const noCA = new RegistryClient({
      credentials: new StaticCredentials({ [reg.host]: { username: USER, password: PASSWORD } }),
    });
    await noCA.checkLogin(reg.host, { username: USER, password: PASSWORD });
    expect((await noCA.endpoint(reg.host)).base).toBe(`https://${reg.host}`);
  });

  it("pushes and pulls with credentials over TLS", async () => {
    const tar = await makeTar("tls", 32 * 1024);
    const img = await importImage(src, `${reg.host}/app:1`, tar);
    const pushed = await pushImage(authed(), src, `${reg.host}/app:1`);
    expect(pushed.digest).toBe(img.manifestDigest);
    await src.tag(`${reg.host}/app:1`, `${reg.host}/other:1`);
    const events: ProgressEvent[] = [];
    await pushImage(authed(), src, `${reg.host}/other:1`, { onProgress: (e) => events.push(e) });
    expect(events.map((e) => e.status)).toContain("Mounted from app");
    const dst = await newStore();
    expect((await pullImage(authed(), dst, `${reg.host}/app:1`)).image.id).toBe(img.id);
  });
});

describe("token auth", () => {
  const reg = new TestRegistry("token");
  let src: ImageStore;
  beforeAll(async () => {
    await reg.start();
    src = await newStore();
  });
  afterAll(() => reg.stop());
  const authed = () =>
    new RegistryClient({
      credentials: new StaticCredentials({ [reg.host]: { username: USER, password: PASSWORD } }),
    });

  it("pushes and pulls through the bearer token flow, caching tokens per scope", async () => {
    const tar = await makeTar("token", 32 * 1024);
    const img = await importImage(src, `${reg.host}/team/app:1`, tar);
    const client = authed();
    const before = reg.issuer!.requests.length;
    await pushImage(client, src, `${reg.host}/team/app:1`);
    const pushTokens = reg.issuer!.requests.slice(before);
    expect(pushTokens.every((r) => r.user === USER && r.status === 200)).toBe(true);
    expect(pushTokens.map((r) => r.scopes.join(" "))).toContain("repository:team/app:pull,push");
    // One token per scope set, reused for every blob and the manifest.
    expect(new Set(pushTokens.map((r) => r.scopes.join(" "))).size).toBe(pushTokens.length);

    const dst = await newStore();
    expect((await pullImage(client, dst, `${reg.host}/team/app:1`)).image.id).toBe(img.id);

    await failure(
      pullImage(new RegistryClient(), await newStore(), `${reg.host}/team/app:1`),
      "Unauthorized",
      /log in first/,
    );
  });

  it("lets anonymous clients pull what the issuer grants them", async () => {
    const tar = await makeTar("public", 16 * 1024);
    const img = await importImage(src, `${reg.host}/public/tool:1`, tar);
    await pushImage(authed(), src, `${reg.host}/public/tool:1`);
    const dst = await newStore();
    const pulled = await pullImage(new RegistryClient(), dst, `${reg.host}/public/tool:1`);
    expect(pulled.image.id).toBe(img.id);
    expect(reg.issuer!.requests.some((r) => r.user === undefined && r.status === 200)).toBe(true);
  });

  it("uses an identity token through the OAuth2 refresh-token POST", async () => {
    const tar = await makeTar("identity", 16 * 1024);
    const img = await importImage(src, `${reg.host}/team/identity:1`, tar);
    await pushImage(authed(), src, `${reg.host}/team/identity:1`);
    const before = reg.issuer!.requests.length;
    const withToken = new RegistryClient({
      credentials: new StaticCredentials({
        [reg.host]: { username: "", password: "", identityToken: `berth-refresh-${USER}` },
      }),
    });
    const pulled = await pullImage(withToken, await newStore(), `${reg.host}/team/identity:1`);
    expect(pulled.image.id).toBe(img.id);
    const used = reg.issuer!.requests.slice(before);
    expect(used.length).toBeGreaterThan(0);
    expect(used.every((r) => r.grant === "refresh_token" && r.user === USER && r.status === 200)).toBe(true);
    const bad = new RegistryClient({
      credentials: new StaticCredentials({
        [reg.host]: { username: "", password: "", identityToken: "nope" },
      }),
    });
    await failure(
      pullImage(bad, await newStore(), `${reg.host}/team/identity:1`),
      "Unauthorized",
      /log in again/,
    );
  });

  it("refuses wrong credentials at the token server", async () => {
    await failure(
      new RegistryClient().checkLogin(reg.host, { username: USER, password: "nope" }),
      "Unauthorized",
      `login attempt to http://${reg.host}/v2/ failed with status: 401 Unauthorized`,
    );
    await new RegistryClient().checkLogin(reg.host, { username: USER, password: PASSWORD });
  });
});
