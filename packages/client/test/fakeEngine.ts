import { mkdtempSync, rmSync } from "node:fs";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeFrame } from "@berth/api";

/** FakeEngine is a tiny Engine API server on a UNIX socket for unit tests of the client. */
export interface FakeEngine {
  socketPath: string;
  /** Every request as "METHOD /path?query", in arrival order. */
  log: string[];
  /** Events (e.g. "wait-registered", "start") in order. */
  events: string[];
  /** Api-Version the fake advertises on /_ping (default 1.41); set undefined to omit. */
  apiVersion: string | undefined;
  /** Headers of the last request. */
  lastHeaders: http.IncomingHttpHeaders;
  /** Body of the last request with a body. */
  lastBody: Buffer;
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) parts.push(c);
  return Buffer.concat(parts);
}

/** startFakeEngine listens on a fresh socket in a temp dir. */
export async function startFakeEngine(): Promise<FakeEngine> {
  const dir = mkdtempSync(join(tmpdir(), "berth-client-test-"));
  const socketPath = join(dir, "engine.sock");
  let releaseWait: (() => void) | undefined;
  let started = false;
  const sockets = new Set<Socket>();
  const fake: FakeEngine = {
    socketPath,
    log: [],
    events: [],
    apiVersion: "1.41",
    lastHeaders: {},
    lastBody: Buffer.alloc(0),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };

  const server = http.createServer(async (req, res) => {
    fake.log.push(`${req.method} ${req.url}`);
    fake.lastHeaders = req.headers;
    const body = await readBody(req);
    if (body.length > 0) fake.lastBody = body;
    const url = new URL(req.url ?? "/", "http://x");
    const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(url.pathname);
    const version = m?.[1];
    const path = m ? m[2]! : url.pathname;
    if (path === "/_ping") {
      const h: Record<string, string> = {
        "Docker-Experimental": "false",
        Ostype: "linux",
        "Content-Type": "text/plain; charset=utf-8",
      };
      if (fake.apiVersion !== undefined) h["Api-Version"] = fake.apiVersion;
      res.writeHead(200, h);
      res.end(req.method === "HEAD" ? undefined : "OK");
      return;
    }
    if (version === undefined) return json(res, 404, { message: "page not found" });
    if (version === "1.99") {
      return json(res, 400, {
        message: "client version 1.99 is too new. Maximum supported API version is 1.41",
      });
    }
    if (version === "1.11") {
      res.writeHead(400, { "Content-Type": "text/plain; charset=utf-8" });
      res.end(
        "client version 1.11 is too old. Minimum supported API version is 1.12, please upgrade your client to a newer version\n",
      );
      return;
    }
    if (path === "/version") return json(res, 200, { Version: "fake", ApiVersion: "1.41", Os: "linux" });
    if (path === "/info") return json(res, 200, { Name: "fake", NCPU: 2 });
    if (path === "/containers/create" && req.method === "POST") {
      if (url.searchParams.get("name") === "dup") {
        return json(res, 409, {
          message: 'Conflict. The container name "/dup" is already in use by container "abc".',
        });
      }
      return json(res, 201, { Id: "c0ffee", Warnings: null });
    }
    if (path === "/containers/json") return json(res, 200, [{ Id: "c0ffee", Names: ["/web"] }]);
    if (path === "/containers/missing/json") return json(res, 404, { message: "No such container: missing" });
    if (path === "/containers/c0ffee/json")
      return json(res, 200, { Id: "c0ffee", State: { Status: "running" } });
    if (path === "/containers/c0ffee/wait") {
      // Like dockerd: register, flush headers, then answer when the container exits.
      await new Promise((r) => setTimeout(r, 60));
      fake.events.push("wait-registered");
      res.writeHead(200, { "Content-Type": "application/json" });
      res.flushHeaders();
      releaseWait = () => res.end(`${JSON.stringify({ StatusCode: 3, Error: null })}\n`);
      if (started) setTimeout(releaseWait, 10); // started before the wait was registered: the race docker avoids
      return;
    }
    if (path === "/containers/c0ffee/start") {
      fake.events.push("start");
      started = true;
      res.writeHead(204);
      res.end();
      setTimeout(() => releaseWait?.(), 10);
      return;
    }
    if (path === "/containers/c0ffee/logs") {
      const wire = Buffer.concat([
        encodeFrame(1, Buffer.from("out-1\n")),
        encodeFrame(2, Buffer.from("err-1\n")),
        encodeFrame(1, Buffer.from("out-2\n")),
      ]);
      res.writeHead(200, { "Content-Type": "application/vnd.docker.raw-stream" }); // as dockerd < 1.42 does
      // Split at awkward places: inside the first header, inside a payload.
      res.write(wire.subarray(0, 3));
      await new Promise((r) => setTimeout(r, 5));
      res.write(wire.subarray(3, 17));
      await new Promise((r) => setTimeout(r, 5));
      if (url.searchParams.get("follow") === "1") {
        res.write(wire.subarray(17));
        return; // never ends: the client must abort
      }
      res.end(wire.subarray(17));
      return;
    }
    if (path === "/containers/ttyc/logs") {
      res.writeHead(200, { "Content-Type": "application/vnd.docker.raw-stream" });
      res.end("\x01raw tty bytes\r\n");
      return;
    }
    if (path === "/containers/c0ffee/exec" && req.method === "POST") return json(res, 201, { Id: "e1" });
    if (path === "/exec/e1/json") return json(res, 200, { ID: "e1", Running: false, ExitCode: 7 });
    if (path === "/containers/c0ffee/resize") {
      res.writeHead(200);
      res.end();
      return;
    }
    if (path === "/images/create" && url.searchParams.get("fromSrc") === "-") {
      res.writeHead(200, { "Content-Type": "application/json" });
      if (url.searchParams.get("repo") === "bad") {
        res.end(
          `${JSON.stringify({ errorDetail: { message: "archive/tar: invalid tar header" }, error: "archive/tar: invalid tar header" })}\r\n`,
        );
        return;
      }
      res.end(`{"status":"sha256:${"a".repeat(64)}"}\r\n`);
      return;
    }
    if (path.startsWith("/images/") && req.method === "DELETE") {
      return json(res, 200, [{ Untagged: "busybox:latest" }, { Deleted: `sha256:${"b".repeat(64)}` }]);
    }
    if (path === "/images/docker.io/library/busybox:latest/tag") {
      res.writeHead(201);
      res.end();
      return;
    }
    json(res, 404, { message: "page not found" });
  });

  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    fake.log.push(`${req.method} ${req.url} (upgrade)`);
    fake.lastHeaders = req.headers;
    const url = new URL(req.url ?? "/", "http://x");
    const known = ["/containers/c0ffee/attach", "/containers/ttyc/attach", "/exec/e1/start"];
    if (!known.some((k) => url.pathname.endsWith(k))) {
      const text = '{"message":"No such container: nope"}\n';
      socket.end(
        `HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${text.length}\r\n\r\n${text}`,
      );
      return;
    }
    const tty = url.pathname.includes("ttyc");
    socket.write(
      `HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.${tty ? "raw" : "multiplexed"}-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`,
    );
    const send = (stream: 1 | 2, text: string): void => {
      socket.write(tty ? Buffer.from(text) : encodeFrame(stream, Buffer.from(text)));
    };
    send(1, "hello from container\n");
    const onData = (chunk: Buffer): void => {
      // echo stdin back upper-cased on stdout, one byte per write to stress the decoder
      const out = tty
        ? Buffer.from(chunk.toString().toUpperCase())
        : encodeFrame(1, Buffer.from(chunk.toString().toUpperCase()));
      for (const b of out) socket.write(Buffer.from([b]));
    };
    if (head.length > 0) onData(head);
    socket.on("data", onData);
    socket.on("end", () => {
      // Client half-closed stdin: like a container seeing EOF, say goodbye on stderr and exit.
      fake.events.push("stdin-eof");
      send(2, "bye\n");
      socket.end();
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(socketPath, r));
  return fake;
}
