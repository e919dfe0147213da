/**
 * FakeEngine: a scripted Docker Engine API on a UNIX socket (node:http) for CLI tests. It records
 * every request (method, path, body) and answers like dockerd 20.10 did in the traces: 101 hijack
 * for attach, a wait answer held until the container "exits", 204 on start.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Recorded is one request the CLI sent. */
export interface Recorded {
  method: string;
  path: string;
  body: string;
}

/** Script decides the fake's behaviour per test. */
export interface Script {
  /** Frames written on the attach stream after start: [stream, text]. */
  output?: Array<[1 | 2, string]>;
  exitCode?: number;
  /** When set, start answers 400 with this message. */
  startError?: string;
  /** JSON answers for GET paths (without the /v1.41 prefix), e.g. `/containers/json`. */
  get?: Record<string, { status: number; body: unknown }>;
  /** Status/message for DELETE or POST paths (without prefix); default 204. */
  other?: Record<string, { status: number; body?: unknown }>;
}

const ID = "b2a028a8195341e3863db92a8dc2a200f6131b5ae0eb1f7d98408f9c11272ab6";

/** FakeEngine listens on a fresh socket under a temp dir. */
export class FakeEngine {
  readonly dir = mkdtempSync(join(tmpdir(), "berth-cli-"));
  readonly socket = join(this.dir, "fake.sock");
  readonly requests: Recorded[] = [];
  readonly id = ID;
  script: Script = {};
  private server: Server;
  private attachSocket: Socket | undefined;
  private pendingWait: ServerResponse | undefined;
  private started = false;
  private stdinChunks: Buffer[] | undefined;
  private stdinDone = true;
  /** Bytes the CLI wrote on the attach stream (stdin). */
  stdinReceived = "";

  constructor() {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on("upgrade", (req: IncomingMessage, socket: Socket) => this.upgrade(req, socket));
  }

  /** listen starts the server. */
  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(this.socket, resolve));
  }

  /** reset clears the recorded requests and sets a new script. */
  reset(script: Script): void {
    this.requests.length = 0;
    this.script = script;
    this.started = false;
    this.attachSocket = undefined;
    this.pendingWait = undefined;
    this.stdinChunks = undefined;
    this.stdinDone = true;
    this.stdinReceived = "";
  }

  /** close stops the server and removes the temp dir. */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private strip(url: string): string {
    return url.replace(/^\/v\d+\.\d+/, "");
  }

  private upgrade(req: IncomingMessage, socket: Socket): void {
    this.requests.push({ method: req.method ?? "", path: this.strip(req.url ?? ""), body: "" });
    socket.write(
      "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
    );
    this.attachSocket = socket;
    socket.on("error", () => {});
    if (req.url?.includes("stdin=1")) {
      // behave like `cat`: echo stdin as stdout once the client half-closes
      const chunks: Buffer[] = [];
      this.stdinChunks = chunks;
      this.stdinDone = false;
      socket.on("data", (d: Buffer) => chunks.push(d));
      socket.on("end", () => {
        this.stdinDone = true;
        this.stdinReceived = Buffer.concat(chunks).toString("utf8");
        if (this.started) this.emitOutput();
      });
    } else {
      socket.on("data", () => {});
    }
    if (this.started) this.emitOutput();
  }

  private emitOutput(): void {
    const s = this.attachSocket;
    if (!s || !this.stdinDone) return;
    const output = [...(this.script.output ?? [])];
    if (this.stdinChunks) output.push([1, Buffer.concat(this.stdinChunks).toString("utf8")]);
    for (const [stream, text] of output) {
      const payload = Buffer.from(text);
      const header = Buffer.alloc(8);
      header[0] = stream;
      header.writeUInt32BE(payload.length, 4);
      s.write(Buffer.concat([header, payload]));
    }
    s.end();
    setTimeout(() => this.finishWait(), 20);
  }

  private finishWait(): void {
    const res = this.pendingWait;
    if (!res) return;
    res.end(`${JSON.stringify({ Error: null, StatusCode: this.script.exitCode ?? 0 })}\n`);
    this.pendingWait = undefined;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = this.strip(req.url ?? "");
      const body = Buffer.concat(chunks).toString("utf8");
      if (path !== "/_ping") this.requests.push({ method: req.method ?? "", path, body });
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { "Content-Type": "application/json", "Api-Version": "1.41" });
        res.end(`${JSON.stringify(value)}\n`);
      };
      const bare = path.split("?")[0] as string;
      if (bare === "/_ping") {
        res.writeHead(200, { "Api-Version": "1.41", "Content-Type": "text/plain; charset=utf-8" });
        res.end(req.method === "HEAD" ? undefined : "OK");
        return;
      }
      if (req.method === "POST" && bare === "/containers/create") return json(201, { Id: ID, Warnings: [] });
      if (req.method === "POST" && bare.endsWith("/wait")) {
        res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
        res.flushHeaders();
        this.pendingWait = res;
        if (this.script.startError) setTimeout(() => this.finishWait(), 50);
        return;
      }
      if (req.method === "POST" && bare.endsWith("/start")) {
        if (this.script.startError) {
          this.attachSocket?.end();
          return json(400, { message: this.script.startError });
        }
        this.started = true;
        res.writeHead(204);
        res.end();
        if (this.attachSocket) this.emitOutput();
        else setTimeout(() => this.finishWait(), 20);
        return;
      }
      if (req.method === "GET") {
        const answer = this.script.get?.[path] ?? this.script.get?.[bare];
        if (answer) return json(answer.status, answer.body);
        return json(404, { message: "page not found" });
      }
      const other = this.script.other?.[path] ?? this.script.other?.[bare];
      if (other) {
        if (other.body === undefined) {
          res.writeHead(other.status);
          res.end();
          return;
        }
        return json(other.status, other.body);
      }
      res.writeHead(204);
      res.end();
    });
  }
}
