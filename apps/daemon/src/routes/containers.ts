import type { Duplex } from "node:stream";
import { compareVersions, encodeFrame, MULTIPLEXED_STREAM, RAW_STREAM } from "@berth/api";
import { type Engine, type LogEntry, parseFiltersJSON } from "@berth/engine";
import { InvalidArgument } from "@berth/errdefs";
import { bool, int, readJSON, resOf, sendJSON, sendStatus } from "../http.ts";
import type { Ctx, Router } from "../Router.ts";

interface CreateBody {
  HostConfig?: Record<string, unknown>;
  NetworkingConfig?: unknown;
  [key: string]: unknown;
}

/** streamContentType is raw for TTYs; multiplexed ones are labelled so from API 1.42 on, as dockerd does. */
function streamContentType(tty: boolean, version: string): string {
  return tty || compareVersions(version, "1.42") < 0 ? RAW_STREAM : MULTIPLEXED_STREAM;
}

/** frame encodes one chunk of output for the wire: raw with a TTY, multiplexed otherwise. */
function frame(tty: boolean, stream: "stdout" | "stderr", data: Buffer): Buffer {
  return tty ? data : encodeFrame(stream === "stdout" ? 1 : 2, data);
}

/** containerRoutes: the `/containers/...` endpoints of the Engine API. */
export function containerRoutes(router: Router, engine: Engine): void {
  const c = engine.containers;

  router.add("POST", "/containers/create", async (ctx) => {
    const body = (await readJSON<CreateBody>(ctx.req)) ?? {};
    if (typeof body !== "object" || Array.isArray(body))
      throw new InvalidArgument("invalid create body: expected a JSON object");
    const { HostConfig, NetworkingConfig, ...config } = body;
    const name = ctx.query.get("name") ?? undefined;
    const report = await c.create({
      ...(name !== undefined && name !== "" ? { name } : {}),
      config,
      ...(HostConfig ? { hostConfig: HostConfig } : {}),
      ...(NetworkingConfig ? { networkingConfig: NetworkingConfig as never } : {}),
    });
    sendJSON(ctx, 201, report);
  });

  router.add("GET", "/containers/json", (ctx) => {
    const limit = int(ctx.query, "limit");
    const list = engine.listContainers({
      all: bool(ctx.query, "all"),
      ...(limit !== undefined ? { limit } : {}),
      filters: parseFiltersJSON(ctx.query.get("filters") ?? undefined),
    });
    sendJSON(ctx, 200, list);
  });

  router.add("GET", "/containers/{id}/json", (ctx) =>
    sendJSON(ctx, 200, engine.inspectContainer(ctx.params.id!)),
  );

  router.add("POST", "/containers/{id}/start", async (ctx) => {
    const r = await c.start(ctx.params.id!);
    sendStatus(ctx, r.notModified ? 304 : 204);
  });

  router.add("POST", "/containers/{id}/stop", async (ctx) => {
    const t = int(ctx.query, "t");
    const signal = ctx.query.get("signal") ?? undefined;
    const r = await c.stop(ctx.params.id!, {
      ...(t !== undefined ? { timeout: t } : {}),
      ...(signal ? { signal } : {}),
    });
    sendStatus(ctx, r.notModified ? 304 : 204);
  });

  router.add("POST", "/containers/{id}/restart", async (ctx) => {
    const t = int(ctx.query, "t");
    const signal = ctx.query.get("signal") ?? undefined;
    await c.restart(ctx.params.id!, {
      ...(t !== undefined ? { timeout: t } : {}),
      ...(signal ? { signal } : {}),
    });
    sendStatus(ctx, 204);
  });

  router.add("POST", "/containers/{id}/kill", async (ctx) => {
    await c.kill(ctx.params.id!, ctx.query.get("signal") || "SIGKILL");
    sendStatus(ctx, 204);
  });

  router.add("DELETE", "/containers/{id}", async (ctx) => {
    await c.remove(ctx.params.id!, { force: bool(ctx.query, "force"), volumes: bool(ctx.query, "v") });
    sendStatus(ctx, 204);
  });

  router.add("POST", "/containers/{id}/wait", async (ctx) => {
    const condition = ctx.query.get("condition") || "not-running";
    if (condition !== "not-running" && condition !== "next-exit" && condition !== "removed") {
      throw new InvalidArgument(`invalid condition: "${condition}"`);
    }
    const waiting = c.wait(ctx.params.id!, condition);
    const res = resOf(ctx);
    // Headers go out at once: the docker CLI starts the container only after the wait is in place.
    res.writeHead(200, { "Content-Type": "application/json" });
    res.flushHeaders();
    const report = await waiting;
    res.end(`${JSON.stringify(report)}\n`);
  });

  router.add("POST", "/containers/{id}/resize", async (ctx) => {
    const h = int(ctx.query, "h") ?? 0;
    const w = int(ctx.query, "w") ?? 0;
    await c.resize(ctx.params.id!, { height: h, width: w });
    sendStatus(ctx, 200);
  });

  router.add("GET", "/containers/{id}/logs", async (ctx) => {
    const q = ctx.query;
    const stdout = bool(q, "stdout");
    const stderr = bool(q, "stderr");
    if (!stdout && !stderr) throw new InvalidArgument("Bad parameters: you must choose at least one stream");
    const ac = new AbortController();
    const since = q.get("since");
    const until = q.get("until");
    const tail = q.get("tail");
    const { tty, entries } = engine.logs(ctx.params.id!, {
      follow: bool(q, "follow"),
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
      ...(tail ? { tail } : {}),
      signal: ac.signal,
    });
    const res = resOf(ctx);
    res.writeHead(200, { "Content-Type": streamContentType(tty, ctx.version) });
    res.flushHeaders();
    res.on("close", () => ac.abort());
    const timestamps = bool(q, "timestamps");
    try {
      for await (const e of entries) {
        if ((e.stream === "stdout" && !stdout) || (e.stream === "stderr" && !stderr)) continue;
        const data = timestamps ? Buffer.concat([Buffer.from(`${e.time} `), e.data]) : e.data;
        if (!res.write(frame(tty, e.stream, data))) await new Promise((r) => res.once("drain", r));
      }
    } finally {
      res.end();
    }
  });

  router.add("POST", "/containers/{id}/attach", async (ctx) => {
    const q = ctx.query;
    const id = ctx.params.id!;
    const rec = c.find(id);
    const tty = rec.config.Tty === true;
    const stdin = bool(q, "stdin");
    const session = await c.attach(id, {
      stdin,
      stdout: bool(q, "stdout"),
      stderr: bool(q, "stderr"),
      stream: bool(q, "stream"),
      logs: bool(q, "logs"),
    });
    const socket = hijack(ctx, streamContentType(tty, ctx.version));
    let replay: AsyncIterable<LogEntry> | undefined;
    if (bool(q, "logs")) replay = engine.logs(id, { follow: false }).entries;
    pumpAttach(socket, session, tty, replay, { stdout: bool(q, "stdout"), stderr: bool(q, "stderr") });
  });
}

/**
 * hijack takes the connection over: a `101 UPGRADED` when the client asked to upgrade (the docker
 * CLI does), otherwise a `200` after which the connection carries the raw stream, as dockerd does.
 */
export function hijack(ctx: Ctx, contentType: string): Duplex {
  if (ctx.upgrade) {
    const { socket, head } = ctx.upgrade;
    socket.write(
      `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`,
    );
    if (head.length > 0) socket.unshift(head);
    return socket;
  }
  const res = resOf(ctx);
  const socket = ctx.req.socket;
  res.detachSocket(socket);
  socket.write(`HTTP/1.1 200 OK\r\nContent-Type: ${contentType}\r\nConnection: close\r\n\r\n`);
  return socket;
}

interface SessionLike {
  stdout: NodeJS.ReadableStream;
  stderr: NodeJS.ReadableStream;
  stdin: NodeJS.WritableStream;
  close(): void;
}

/** pumpAttach moves bytes between a hijacked connection and an engine attach session. */
function pumpAttach(
  socket: Duplex,
  session: SessionLike,
  tty: boolean,
  replay: AsyncIterable<LogEntry> | undefined,
  want: { stdout: boolean; stderr: boolean },
): void {
  let open = 2;
  const finish = () => {
    open -= 1;
    if (open === 0 && !socket.destroyed) socket.end();
  };
  const start = () => {
    session.stdout.on("data", (b: Buffer) => socket.write(frame(tty, "stdout", b)));
    session.stderr.on("data", (b: Buffer) => socket.write(frame(tty, "stderr", b)));
    session.stdout.once("end", finish);
    session.stderr.once("end", finish);
  };
  if (replay) {
    session.stdout.pause();
    session.stderr.pause();
    void (async () => {
      for await (const e of replay) {
        if ((e.stream === "stdout" && want.stdout) || (e.stream === "stderr" && want.stderr))
          socket.write(frame(tty, e.stream, e.data));
      }
      start();
    })();
  } else {
    start();
  }
  socket.on("data", (b: Buffer) => session.stdin.write(b));
  socket.once("end", () => session.stdin.end());
  socket.once("close", () => session.close());
  socket.on("error", () => session.close());
}
