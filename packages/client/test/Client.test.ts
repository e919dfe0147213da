import http from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { isKind } from "@berth/errdefs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, type OutputChunk } from "../src/index.ts";
import { type FakeEngine, startFakeEngine } from "./fakeEngine.ts";

let fake: FakeEngine;
let client: Client;

beforeAll(async () => {
  fake = await startFakeEngine();
  client = new Client({ socketPath: fake.socketPath });
});
afterAll(async () => {
  client.close();
  await fake.close();
});

async function collect(it: AsyncIterable<OutputChunk>): Promise<string[]> {
  const out: string[] = [];
  for await (const c of it) out.push(`${c.stream}:${c.data.toString()}`);
  return out;
}

function joined(chunks: string[], stream: string): string {
  return chunks
    .filter((c) => c.startsWith(`${stream}:`))
    .map((c) => c.slice(stream.length + 1))
    .join("");
}

describe("negotiation and prefixes", () => {
  it("pings with HEAD /_ping, then prefixes with the lower of server and client versions", async () => {
    fake.log.length = 0;
    const v = await client.version();
    expect(v.Version).toBe("fake");
    expect(fake.log).toEqual(["HEAD /_ping", "GET /v1.41/version"]);
    await client.info();
    expect(fake.log.at(-1)).toBe("GET /v1.41/info");
    expect(fake.log.filter((l) => l.includes("_ping"))).toHaveLength(1);
    expect(fake.lastHeaders["user-agent"]).toMatch(/^Berth-Client\//);
  });

  it("caps the version at the client's API_VERSION when the server is newer", async () => {
    fake.apiVersion = "1.99";
    const c = new Client({ socketPath: fake.socketPath });
    try {
      expect(await c.apiVersion()).toBe("1.47");
    } finally {
      c.close();
      fake.apiVersion = "1.41";
    }
  });

  it("falls back to 1.24 when /_ping has no Api-Version", async () => {
    fake.apiVersion = undefined;
    const c = new Client({ socketPath: fake.socketPath });
    try {
      expect(await c.apiVersion()).toBe("1.24");
    } finally {
      c.close();
      fake.apiVersion = "1.41";
    }
  });

  it("ping reports version, os and experimental", async () => {
    expect(await client.ping()).toEqual({ apiVersion: "1.41", osType: "linux", experimental: false });
  });

  it("a pinned version skips /_ping (fromEnv reads DOCKER_HOST and DOCKER_API_VERSION)", async () => {
    const c = Client.fromEnv({ DOCKER_HOST: `unix://${fake.socketPath}`, DOCKER_API_VERSION: "1.40" });
    try {
      expect(c.socketPath).toBe(fake.socketPath);
      fake.log.length = 0;
      await c.info();
      expect(fake.log).toEqual(["GET /v1.40/info"]);
    } finally {
      c.close();
    }
  });

  it("the default host is berthd's socket", () => {
    const c = Client.fromEnv({});
    expect(c.socketPath).toBe("/run/berth/berth.sock");
    expect(c.host).toBe("unix:///run/berth/berth.sock");
    c.close();
  });

  it("request() prefixes paths and leaves prefixed ones alone", async () => {
    fake.log.length = 0;
    const r = await client.request("GET", "/containers/json", {
      query: { all: true, limit: 3, size: undefined },
    });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString())).toEqual([{ Id: "c0ffee", Names: ["/web"] }]);
    await client.request("GET", "/v1.30/version");
    expect(fake.log).toEqual(["GET /v1.41/containers/json?all=1&limit=3", "GET /v1.30/version"]);
    const nf = await client.request("GET", "/nosuch", { throwOnError: false });
    expect(nf.status).toBe(404);
  });
});

describe("errors", () => {
  it("maps 404 to NotFound with the daemon's message", async () => {
    const err = await client.containerInspect("missing").catch((e: unknown) => e);
    expect(isKind(err, "NotFound")).toBe(true);
    expect((err as Error).message).toBe("No such container: missing");
  });

  it("maps 409 to Conflict", async () => {
    const err = await client.containerCreate({ Image: "busybox" }, { name: "dup" }).catch((e: unknown) => e);
    expect(isKind(err, "Conflict")).toBe(true);
    expect((err as Error).message).toMatch(/^Conflict. The container name "\/dup" is already in use/);
  });

  it("maps too-new (JSON) and too-old (text/plain) 400s to InvalidArgument with dockerd's text", async () => {
    const tooNew = new Client({ socketPath: fake.socketPath, version: "1.99" });
    const tooOld = new Client({ socketPath: fake.socketPath, version: "1.11" });
    try {
      const e1 = await tooNew.version().catch((e: unknown) => e);
      expect(isKind(e1, "InvalidArgument")).toBe(true);
      expect((e1 as Error).message).toBe(
        "client version 1.99 is too new. Maximum supported API version is 1.41",
      );
      const e2 = await tooOld.version().catch((e: unknown) => e);
      expect((e2 as Error).message).toBe(
        "client version 1.11 is too old. Minimum supported API version is 1.12, please upgrade your client to a newer version",
      );
    } finally {
      tooNew.close();
      tooOld.close();
    }
  });

  it("a missing socket is Unavailable with docker's text and code ENOENT", async () => {
    const c = new Client({ socketPath: `${fake.socketPath}.missing` });
    const err = await c.ping().catch((e: unknown) => e);
    expect(isKind(err, "Unavailable")).toBe(true);
    expect((err as Error).message).toBe(
      `Cannot connect to the Docker daemon at unix://${fake.socketPath}.missing. Is the docker daemon running?`,
    );
    expect((err as { code?: string }).code).toBe("ENOENT");
    // negotiation failure is not cached: a later call tries again (and fails the same way)
    await expect(c.info()).rejects.toThrow(/Cannot connect/);
    c.close();
  });

  it("a request body that fails to read (ENOENT) is that error, not 'Cannot connect'", async () => {
    const c = new Client({ socketPath: fake.socketPath });
    // As a build context tar whose file vanished: the stream fails with an fs error once read.
    const body = new Readable({
      read() {
        const err = Object.assign(new Error("ENOENT: no such file or directory, lstat '/ctx/gone'"), {
          code: "ENOENT",
          syscall: "lstat",
          path: "/ctx/gone",
        });
        this.destroy(err);
      },
    });
    const err = await c.request("POST", "/build", { body }).catch((e: unknown) => e);
    expect((err as Error).message).not.toMatch(/Cannot connect/);
    expect((err as Error).message).toMatch(/ENOENT/);
    c.close();
  });

  it("a refused TCP port is Unavailable with code ECONNREFUSED", async () => {
    const srv = http.createServer();
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const port = (srv.address() as AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const c = new Client({ host: `tcp://127.0.0.1:${port}` });
    expect(c.socketPath).toBeUndefined();
    const err = await c.ping().catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      `Cannot connect to the Docker daemon at tcp://127.0.0.1:${port}. Is the docker daemon running?`,
    );
    expect((err as { code?: string }).code).toBe("ECONNREFUSED");
    c.close();
  });

  it("timeoutMs cancels a request that hangs", async () => {
    const srv = http.createServer(() => {
      // never answer
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const port = (srv.address() as AddressInfo).port;
    const c = new Client({ host: `tcp://127.0.0.1:${port}`, version: "1.41", timeoutMs: 100 });
    try {
      const err = await c.info().catch((e: unknown) => e);
      expect(isKind(err, "Canceled")).toBe(true);
      expect((err as Error).message).toMatch(/timed out after 100 ms/);
    } finally {
      c.close();
      srv.closeAllConnections();
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });
});

describe("containers", () => {
  it("create sends the JSON body with name and returns Warnings as an array", async () => {
    const r = await client.containerCreate(
      { Image: "busybox", Cmd: ["echo", "hi"], HostConfig: { AutoRemove: true } },
      { name: "web" },
    );
    expect(r).toEqual({ Id: "c0ffee", Warnings: [] });
    expect(fake.log.at(-1)).toBe("POST /v1.41/containers/create?name=web");
    expect(fake.lastHeaders["content-type"]).toBe("application/json");
    expect(JSON.parse(fake.lastBody.toString())).toEqual({
      Image: "busybox",
      Cmd: ["echo", "hi"],
      HostConfig: { AutoRemove: true },
    });
  });

  it("list encodes all and filters as docker does", async () => {
    fake.log.length = 0;
    const list = await client.containerList({ all: true, filters: { label: ["a=b"], status: [] } });
    expect(list[0]?.Id).toBe("c0ffee");
    expect(fake.log).toEqual([
      `GET /v1.41/containers/json?all=1&filters=${encodeURIComponent('{"label":["a=b"]}')}`,
    ]);
  });

  it("wait is registered by the daemon before start is sent, and resolves with the exit status", async () => {
    fake.events.length = 0;
    const wait = client.containerWait("c0ffee", { condition: "next-exit" });
    await client.containerStart("c0ffee");
    const result = await wait;
    expect(fake.events).toEqual(["wait-registered", "start"]);
    expect(result).toEqual({ StatusCode: 3, Error: null });
    expect(fake.log).toContain("POST /v1.41/containers/c0ffee/wait?condition=next-exit");
  });

  it("logs demultiplexes frames split across chunks (dockerd < 1.42 labels them raw-stream)", async () => {
    const out = await collect(client.containerLogs("c0ffee", { stdout: true, stderr: true, tty: false }));
    expect(out).toEqual(["stdout:out-1\n", "stderr:err-1\n", "stdout:out-2\n"]);
    expect(fake.log.at(-1)).toBe("GET /v1.41/containers/c0ffee/logs?stderr=1&stdout=1");
  });

  it("logs of a tty container are raw", async () => {
    const out = await collect(client.containerLogs("ttyc", { stdout: true, tty: true }));
    expect(out).toEqual(["stdout:\x01raw tty bytes\r\n"]);
  });

  it("on API >= 1.42 the Content-Type decides: raw-stream is raw even without the tty hint", async () => {
    const c = new Client({ socketPath: fake.socketPath, version: "1.47" });
    try {
      expect(await collect(c.containerLogs("ttyc", { stdout: true }))).toEqual([
        "stdout:\x01raw tty bytes\r\n",
      ]);
    } finally {
      c.close();
    }
  });

  it("logs --follow ends quietly when the signal aborts", async () => {
    const ac = new AbortController();
    const got: string[] = [];
    for await (const c of client.containerLogs("c0ffee", {
      follow: true,
      stdout: true,
      stderr: true,
      signal: ac.signal,
    })) {
      got.push(c.data.toString());
      if (got.length === 3) ac.abort();
    }
    expect(got).toEqual(["out-1\n", "err-1\n", "out-2\n"]);
  });

  it("resize, inspect", async () => {
    await client.containerResize("c0ffee", { h: 24, w: 80 });
    expect(fake.log.at(-1)).toBe("POST /v1.41/containers/c0ffee/resize?h=24&w=80");
    expect((await client.containerInspect("c0ffee")).State?.Status).toBe("running");
  });
});

describe("attach", () => {
  it("hijacks with 101, demultiplexes output, and half-closes stdin while output keeps flowing", async () => {
    const a = await client.containerAttach("c0ffee", {
      stream: true,
      stdin: true,
      stdout: true,
      stderr: true,
      tty: false,
    });
    const upgrade = fake.log.at(-1)!;
    expect(upgrade).toBe("POST /v1.41/containers/c0ffee/attach?stderr=1&stdin=1&stdout=1&stream=1 (upgrade)");
    expect(fake.lastHeaders.connection).toBe("Upgrade");
    expect(fake.lastHeaders.upgrade).toBe("tcp");
    const output = collect(a.output);
    a.stdin.write("ping\n");
    await new Promise((r) => setTimeout(r, 50));
    a.closeWrite();
    const chunks = await output;
    await a.done;
    expect(joined(chunks, "stdout")).toBe("hello from container\nPING\n");
    expect(joined(chunks, "stderr")).toBe("bye\n");
    // The daemon saw EOF only after our data: "bye" comes after the echo.
    expect(chunks.at(-1)).toBe("stderr:bye\n");
    expect(fake.events).toContain("stdin-eof");
  });

  it("stdin.end() half-closes too, after flushing what was written", async () => {
    const a = await client.containerAttach("c0ffee", { stream: true, stdin: true, stdout: true, tty: false });
    const output = collect(a.output);
    a.stdin.end("last words\n");
    const chunks = await output;
    expect(joined(chunks, "stdout")).toBe("hello from container\nLAST WORDS\n");
    expect(chunks.at(-1)).toBe("stderr:bye\n");
    await a.done;
  });

  it("tty attach is raw (Content-Type raw-stream)", async () => {
    await using a = await client.containerAttach("ttyc", {
      stream: true,
      stdin: true,
      stdout: true,
      tty: true,
    });
    const output = collect(a.output);
    a.stdin.write("x\n");
    await new Promise((r) => setTimeout(r, 50));
    a.closeWrite();
    const chunks = await output;
    expect(chunks.every((c) => c.startsWith("stdout:"))).toBe(true);
    expect(joined(chunks, "stdout")).toBe("hello from container\nX\nbye\n");
  });

  it("an attach to a missing container rejects with NotFound", async () => {
    const err = await client
      .containerAttach("nope", { stream: true, stdout: true, tty: false })
      .catch((e: unknown) => e);
    expect(isKind(err, "NotFound")).toBe(true);
    expect((err as Error).message).toBe("No such container: nope");
  });
});

describe("exec", () => {
  it("creates, starts with a hijack (JSON body), and inspects", async () => {
    const { Id } = await client.execCreate("c0ffee", {
      Cmd: ["sh", "-c", "exit 7"],
      AttachStdout: true,
      AttachStderr: true,
    });
    expect(Id).toBe("e1");
    expect(JSON.parse(fake.lastBody.toString())).toMatchObject({ Cmd: ["sh", "-c", "exit 7"] });
    const a = await client.execStart("e1", { tty: false });
    expect(fake.log.at(-1)).toBe("POST /v1.41/exec/e1/start (upgrade)");
    expect(fake.lastHeaders["content-type"]).toBe("application/json");
    a!.closeWrite();
    const chunks = await collect(a!.output);
    expect(chunks[0]).toBe("stdout:hello from container\n");
    expect((await client.execInspect("e1")).ExitCode).toBe(7);
  });
});

describe("images", () => {
  it("import streams the body and returns the new id", async () => {
    const r = await client.imageImport(Readable.from([Buffer.from("tar"), Buffer.from("ball")]), {
      repo: "imported",
      tag: "1",
      changes: ['CMD ["sh"]', "ENV A=1"],
      message: "my message",
    });
    expect(r.id).toBe(`sha256:${"a".repeat(64)}`);
    expect(r.messages).toHaveLength(1);
    expect(fake.lastBody.toString()).toBe("tarball");
    expect(fake.lastHeaders["content-type"]).toBe("text/plain");
    expect(fake.log.at(-1)).toBe(
      "POST /v1.41/images/create?changes=CMD+%5B%22sh%22%5D&changes=ENV+A%3D1&fromSrc=-&message=my+message&repo=imported&tag=1",
    );
  });

  it("import rejects on an error line", async () => {
    await expect(client.imageImport(Readable.from([Buffer.from("x")]), { repo: "bad" })).rejects.toThrow(
      "archive/tar: invalid tar header",
    );
  });

  it("remove returns the untag/delete report; tag keeps the name's slashes", async () => {
    const r = await client.imageRemove("busybox", { force: true });
    expect(r).toEqual([{ Untagged: "busybox:latest" }, { Deleted: `sha256:${"b".repeat(64)}` }]);
    expect(fake.log.at(-1)).toBe("DELETE /v1.41/images/busybox?force=1");
    await client.imageTag("docker.io/library/busybox:latest", { repo: "me/box", tag: "v1" });
    expect(fake.log.at(-1)).toBe(
      "POST /v1.41/images/docker.io/library/busybox:latest/tag?repo=me%2Fbox&tag=v1",
    );
  });
});

describe("disposal", () => {
  it("Client supports await using", async () => {
    {
      await using c = new Client({ socketPath: fake.socketPath });
      await c.ping();
    }
    expect(true).toBe(true);
  });
});
