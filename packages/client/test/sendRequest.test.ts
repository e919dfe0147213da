import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { encodeFrame } from "@berth/api";
import { isKind } from "@berth/errdefs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../src/index.ts";
import { sendRequest } from "../src/sendRequest.ts";

let dir: string;
const servers: Array<{ close(cb: () => void): void }> = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "berth-transport-test-"));
});
afterAll(async () => {
  for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

/** rawServer answers every connection with `answer(socket, request head)` once the head has arrived. */
async function rawServer(answer: (socket: Socket, head: string) => void): Promise<string> {
  const path = join(dir, `raw-${servers.length}.sock`);
  const srv: Server = createServer((socket) => {
    let buf = "";
    const onData = (c: Buffer): void => {
      buf += c.toString("latin1");
      if (buf.includes("\r\n\r\n")) {
        socket.removeListener("data", onData);
        answer(socket, buf);
      }
    };
    socket.on("data", onData);
    socket.on("error", () => {});
  });
  await new Promise<void>((r) => srv.listen(path, r));
  servers.push(srv);
  return path;
}

async function writeSlowly(socket: Socket, wire: string): Promise<void> {
  for (const b of Buffer.from(wire, "latin1")) {
    socket.write(Buffer.from([b]));
    await new Promise((r) => setImmediate(r));
  }
}

describe("sendRequest over node:net", () => {
  it("sends the request line, Host, User-Agent and Connection headers docker's way", async () => {
    let seen = "";
    const path = await rawServer((socket, head) => {
      seen = head;
      socket.end("HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\nOK");
    });
    const c = new Client({ socketPath: path, userAgent: "test-agent/1" });
    expect((await c.ping()).apiVersion).toBe("1.41");
    expect(seen).toBe(
      "HEAD /_ping HTTP/1.1\r\nHost: api.moby.localhost\r\nUser-Agent: test-agent/1\r\nConnection: close\r\n\r\n",
    );
  });

  it("decodes a chunked answer written one byte at a time", async () => {
    const body = JSON.stringify({ Version: "slow", ApiVersion: "1.41" });
    const path = await rawServer((socket) => {
      const wire =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
        `${(10).toString(16)}\r\n${body.slice(0, 10)}\r\n${(body.length - 10).toString(16)};x=y\r\n${body.slice(10)}\r\n0\r\n\r\n`;
      void writeSlowly(socket, wire).then(() => socket.end());
    });
    const c = new Client({ socketPath: path, version: "1.41" });
    expect((await c.version()).Version).toBe("slow");
  });

  it("a malformed answer rejects with Internal saying what was wrong", async () => {
    const path = await rawServer((socket) => socket.end("SSH-2.0-OpenSSH_9.2\r\n\r\n"));
    const c = new Client({ socketPath: path, version: "1.41" });
    const err = await c.info().catch((e: unknown) => e);
    expect(isKind(err, "Internal")).toBe(true);
    expect((err as Error).message).toBe(
      'malformed http response from the daemon: invalid status line "SSH-2.0-OpenSSH_9.2", expected "HTTP/1.1 <code> <reason>"',
    );
  });

  it("oversized headers reject with Internal", async () => {
    const path = await rawServer((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(100 * 1024)}`);
    });
    const c = new Client({ socketPath: path, version: "1.41" });
    const err = await c.info().catch((e: unknown) => e);
    expect(isKind(err, "Internal")).toBe(true);
    expect((err as Error).message).toContain("response headers exceed 65536 bytes");
  });

  it("a body shorter than its Content-Length fails the request", async () => {
    const path = await rawServer((socket) => {
      socket.end("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{}");
    });
    const c = new Client({ socketPath: path, version: "1.41" });
    const err = await c.info().catch((e: unknown) => e);
    expect(isKind(err, "Internal")).toBe(true);
    expect((err as Error).message).toContain("response body ended early: 18 of its Content-Length bytes");
  });

  it("a daemon that closes without answering fails the request", async () => {
    const path = await rawServer((socket) => socket.end());
    const c = new Client({ socketPath: path, version: "1.41" });
    await expect(c.info()).rejects.toThrow("the daemon closed the connection without a response");
  });

  it("docker's hijack without Upgrade (200 raw-stream) hands the socket to the AttachStream", async () => {
    const path = await rawServer((socket, head) => {
      expect(head).toContain("Connection: Upgrade\r\nUpgrade: tcp\r\n");
      socket.write(
        Buffer.concat([
          Buffer.from("HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n\r\n"),
          encodeFrame(1, Buffer.from("early\n")),
        ]),
      );
      setTimeout(() => socket.end(encodeFrame(2, Buffer.from("late\n"))), 20);
    });
    const c = new Client({ socketPath: path, version: "1.41" });
    const s = await c.containerAttach("x", { stream: true, stdout: true, stderr: true, tty: false });
    const got: string[] = [];
    for await (const chunk of s.output) got.push(`${chunk.stream}:${chunk.data.toString()}`);
    await s.done;
    expect(got).toEqual(["stdout:early\n", "stderr:late\n"]);
  });

  it("an attach answered with a plain 200 JSON body is not mistaken for a hijack", async () => {
    const path = await rawServer((socket) => {
      socket.end("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
    });
    const c = new Client({ socketPath: path, version: "1.41" });
    await expect(c.containerAttach("x", { stream: true, stdout: true, tty: false })).rejects.toThrow(
      "daemon answered 200 without upgrading the connection, expected 101",
    );
  });

  it("streams a large request body chunked, with backpressure, byte for byte", async () => {
    const path = join(dir, "upload.sock");
    let received = 0;
    let hash = 0;
    let te: string | undefined;
    const srv = http.createServer(async (req, res) => {
      te = req.headers["transfer-encoding"];
      for await (const c of req as AsyncIterable<Buffer>) {
        for (const b of c) hash = (hash * 31 + b) >>> 0;
        received += c.length;
        await new Promise((r) => setImmediate(r)); // a slow reader
      }
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(`${JSON.stringify({ received })}\n`);
    });
    await new Promise<void>((r) => srv.listen(path, r));
    servers.push(srv);
    const total = 8 * 1024 * 1024;
    let expectedHash = 0;
    let produced = 0;
    let maxAhead = 0;
    async function* source(): AsyncGenerator<Buffer> {
      for (let i = 0; produced < total; i++) {
        const chunk = Buffer.alloc(64 * 1024, i % 251);
        for (const b of chunk) expectedHash = (expectedHash * 31 + b) >>> 0;
        produced += chunk.length;
        maxAhead = Math.max(maxAhead, produced - received);
        yield chunk;
        if (i % 7 === 0) yield Buffer.alloc(0); // empty chunks must not end the chunked body
      }
    }
    const res = await sendRequest({
      target: { kind: "unix", socketPath: path, url: `unix://${path}` },
      method: "POST",
      path: "/upload",
      headers: { "Content-Type": "application/x-tar" },
      body: Readable.from(source()),
    });
    const parts: Buffer[] = [];
    for await (const c of res) parts.push(c as Buffer);
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(Buffer.concat(parts).toString())).toEqual({ received: total });
    expect(te).toBe("chunked");
    expect(hash).toBe(expectedHash);
    // backpressure: the producer never ran far ahead of the slow reader
    expect(maxAhead).toBeLessThan(total / 2);
  });

  it("rejects CR/LF in header values instead of sending them", async () => {
    await expect(
      sendRequest({
        target: { kind: "unix", socketPath: "/nonexistent", url: "unix:///nonexistent" },
        method: "GET",
        path: "/x",
        headers: { "X-Evil": "a\r\nInjected: 1" },
      }),
    ).rejects.toThrow("invalid request header");
  });

  it("an abort during the body ends it with an AbortError", async () => {
    const path = await rawServer((socket) => {
      socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
    });
    const ac = new AbortController();
    const res = await sendRequest({
      target: { kind: "unix", socketPath: path, url: `unix://${path}` },
      method: "GET",
      path: "/events",
      headers: {},
      signal: ac.signal,
    });
    const err = await (async () => {
      for await (const c of res) {
        expect((c as Buffer).toString()).toBe("abc");
        ac.abort();
      }
    })().catch((e: unknown) => e);
    expect((err as Error).name).toBe("AbortError");
  });
});

describe("sendRequest when the daemon answers before the body is sent", () => {
  it("resolves with the early answer and stops reading the body", async () => {
    const path = await rawServer((socket) => {
      socket.end(
        'HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 18\r\n\r\n{"message":"nope"}',
      );
    });
    let pulled = 0;
    const body = new Readable({
      read() {
        pulled++;
        if (pulled > 10_000) this.push(null);
        else this.push(Buffer.alloc(1024, 1));
      },
    });
    const c = new Client({ socketPath: path, version: "1.41" });
    const err = await c.imageImport(body, { repo: "x" }).catch((e: unknown) => e);
    expect(isKind(err, "InvalidArgument")).toBe(true);
    expect((err as Error).message).toBe("nope");
    await new Promise((r) => setTimeout(r, 20));
    const after = pulled;
    await new Promise((r) => setTimeout(r, 20));
    expect(pulled).toBe(after); // paused, not drained into the void
    expect(pulled).toBeLessThan(10_000);
  });
});
