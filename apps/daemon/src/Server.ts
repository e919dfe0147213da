import { chmod, rm } from "node:fs/promises";
import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { Duplex } from "node:stream";
import { API_VERSION, checkVersion, PAGE_NOT_FOUND, parseVersionedPath } from "@berth/api";
import { errorBody, sendError } from "./http.ts";
import type { Router } from "./Router.ts";

/** The product string in `Server:` headers and `/version`. */
export const SERVER_VERSION = "0.1.0";

/** Headers dockerd puts on every API answer. */
function commonHeaders(): Record<string, string> {
  return {
    "Api-Version": API_VERSION,
    "Docker-Experimental": "false",
    Ostype: "linux",
    Server: `Berth/${SERVER_VERSION} (linux)`,
  };
}

/**
 * Server is the Engine API front door: it speaks HTTP/1.1 on a UNIX socket, strips and checks the
 * `/vX.Y` prefix, routes, and turns thrown errors into docker's `{"message": ...}` answers. It holds
 * no business logic: handlers translate and call the engine.
 */
export class Server {
  readonly #http: HttpServer;
  readonly #router: Router;
  readonly #log: (msg: string) => void;

  constructor(router: Router, log: (msg: string) => void = () => {}) {
    this.#router = router;
    this.#log = log;
    this.#http = createServer({ keepAlive: true, requestTimeout: 0, headersTimeout: 60_000 });
    this.#http.keepAliveTimeout = 30_000;
    this.#http.on("request", (req, res) => void this.#dispatch(req, res, undefined));
    this.#http.on(
      "upgrade",
      (req: IncomingMessage, socket: Duplex, head: Buffer) =>
        void this.#dispatch(req, undefined, { socket, head }),
    );
    this.#http.on("clientError", (err, socket) => {
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
      this.#log(`client error: ${err.message}`);
    });
  }

  /** listen binds the UNIX socket (replacing a stale one) with mode 0660. */
  async listen(socketPath: string): Promise<void> {
    await rm(socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.#http.once("error", reject);
      this.#http.listen(socketPath, () => {
        this.#http.off("error", reject);
        resolve();
      });
    });
    await chmod(socketPath, 0o660);
  }

  /** close stops accepting connections and ends idle keep-alive ones. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#http.close(() => resolve());
      this.#http.closeIdleConnections();
    });
  }

  async #dispatch(
    req: IncomingMessage,
    res: ServerResponse | undefined,
    upgrade: { socket: Duplex; head: Buffer } | undefined,
  ): Promise<void> {
    const url = new URL(req.url ?? "/", "http://berth");
    const { version: requested, path } = parseVersionedPath(url.pathname);
    const headers = commonHeaders();
    if (res) for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    const fail = (status: number, body: string, contentType = "application/json") => {
      if (res) {
        res.writeHead(status, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body) });
        res.end(body);
      } else if (upgrade) {
        upgrade.socket.end(
          `HTTP/1.1 ${status} ${status === 404 ? "Not Found" : "Error"}\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      }
    };
    const check = checkVersion(requested);
    if (!check.ok) {
      fail(
        check.status,
        check.contentType === "application/json"
          ? `${JSON.stringify({ message: check.message })}\n`
          : `${check.message}\n`,
        check.contentType,
      );
      return;
    }
    const method = req.method ?? "GET";
    const m = this.#router.match(method, path);
    if (m === undefined || m === "method") {
      if (res) for (const k of Object.keys(headers)) res.removeHeader(k);
      fail(404, `${JSON.stringify({ message: PAGE_NOT_FOUND })}\n`);
      return;
    }
    const t0 = performance.now();
    const took = () => `${method} ${url.pathname}${url.search} ${(performance.now() - t0).toFixed(1)}ms`;
    res?.once("finish", () => this.#log(`${took()} ${res.statusCode}`));
    try {
      await m.handler({
        req,
        res,
        upgrade,
        params: m.params,
        query: url.searchParams,
        version: check.version,
      });
      if (upgrade) this.#log(`${took()} upgraded`);
    } catch (err) {
      this.#log(`${method} ${url.pathname}: ${(err as Error).message}`);
      if (res) sendError(res, err);
      else if (upgrade) {
        const { status, body } = errorBody(err);
        fail(status, body);
      }
    }
  }
}
