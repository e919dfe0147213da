import type { Duplex } from "node:stream";
import { compareVersions, encodeFrame, MULTIPLEXED_STREAM, RAW_STREAM } from "@berth/api";
import type { Engine, ExecConfig } from "@berth/engine";
import { Conflict, InvalidArgument } from "@berth/errdefs";
import { int, MAX_JSON_BODY, readJSON, sendJSON, sendStatus } from "../http.ts";
import type { Ctx, Router } from "../Router.ts";
import { hijack } from "./containers.ts";

interface StartBody {
  Detach?: boolean;
  Tty?: boolean;
  ConsoleSize?: [number, number] | number[] | null;
}

/**
 * execRoutes: `POST /containers/{id}/exec` (201 `{Id}`), `POST /exec/{id}/start` (hijacked
 * `101 UPGRADED` stream like attach, multiplexed without a TTY and raw with one; `Detach: true`
 * answers 200 with an empty body), `POST /exec/{id}/resize` and `GET /exec/{id}/json`.
 */
export function execRoutes(router: Router, engine: Engine): void {
  const execs = engine.execs;

  router.add("POST", "/containers/{id}/exec", async (ctx) => {
    const body = (await readJSON<ExecConfig>(ctx.req)) ?? {};
    if (typeof body !== "object" || Array.isArray(body))
      throw new InvalidArgument("invalid exec body: expected a JSON object");
    sendJSON(ctx, 201, execs.create(ctx.params.id!, body));
  });

  router.add("POST", "/exec/{id}/start", async (ctx) => {
    const body =
      (ctx.upgrade ? await readUpgradeJSON<StartBody>(ctx) : await readJSON<StartBody>(ctx.req)) ?? {};
    const id = ctx.params.id!;
    const info = execs.inspect(id);
    const tty = info.ProcessConfig.tty;
    const cs = body.ConsoleSize;
    const size =
      Array.isArray(cs) && cs.length === 2 && cs[0]! > 0 && cs[1]! > 0
        ? { height: cs[0]!, width: cs[1]! }
        : undefined;
    if (body.Detach === true) {
      await execs.start(id, { detach: true, ...(size ? { size } : {}) });
      sendStatus(ctx, 200);
      return;
    }
    // An exec runs once: answer 409 over HTTP before taking the connection over.
    if (info.Running || info.ExitCode !== null)
      throw new Conflict(`Error: Exec command ${id} is already running`);
    const socket = hijack(
      ctx,
      tty || compareVersions(ctx.version, "1.42") < 0 ? RAW_STREAM : MULTIPLEXED_STREAM,
    );
    const out = (stream: 1 | 2, data: Buffer) => socket.write(tty ? data : encodeFrame(stream, data));
    let session: Awaited<ReturnType<typeof execs.start>>;
    try {
      session = await execs.start(id, size ? { size } : {});
    } catch (err) {
      // dockerd writes a failed exec's error into the stream (on stdout) and closes it.
      out(1, Buffer.from(`${(err as Error).message}\r\n`));
      socket.end();
      return;
    }
    if (!session) {
      socket.end();
      return;
    }
    // The client asks for the exit code as soon as the stream ends: end it once that is recorded.
    pump(socket, session, out, () => execs.waitExit(id).then(() => {}));
  });

  router.add("POST", "/exec/{id}/resize", async (ctx) => {
    const h = int(ctx.query, "h") ?? 0;
    const w = int(ctx.query, "w") ?? 0;
    await execs.resize(ctx.params.id!, { height: h, width: w });
    sendStatus(ctx, 200);
  });

  router.add("GET", "/exec/{id}/json", (ctx) => sendJSON(ctx, 200, execs.inspect(ctx.params.id!)));
}

/** pump moves bytes between the hijacked connection and the exec session; ends after the output and the exit. */
function pump(
  socket: Duplex,
  session: {
    stdout: NodeJS.ReadableStream;
    stderr: NodeJS.ReadableStream;
    stdin: NodeJS.WritableStream;
    close(): void;
  },
  out: (stream: 1 | 2, data: Buffer) => void,
  exited: () => Promise<void>,
): void {
  let open = 2;
  const finish = () => {
    open -= 1;
    if (open !== 0) return;
    void exited()
      .catch(() => {})
      .finally(() => {
        if (!socket.destroyed) socket.end();
      });
  };
  session.stdout.on("data", (b: Buffer) => out(1, b));
  session.stderr.on("data", (b: Buffer) => out(2, b));
  session.stdout.once("end", finish);
  session.stderr.once("end", finish);
  socket.on("data", (b: Buffer) => session.stdin.write(b));
  socket.once("end", () => session.stdin.end());
  socket.once("close", () => session.close());
  socket.on("error", () => session.close());
}

/**
 * readUpgradeJSON reads the JSON body of a request that asked to upgrade: Node hands such a
 * request over before its body, so the body's `Content-Length` bytes are taken from the upgrade
 * head and the socket, and whatever follows is left for the hijacked stream.
 */
async function readUpgradeJSON<T>(ctx: Ctx): Promise<T | undefined> {
  const up = ctx.upgrade!;
  const len = Number(ctx.req.headers["content-length"] ?? 0);
  if (!Number.isInteger(len) || len < 0 || len > MAX_JSON_BODY)
    throw new InvalidArgument(`invalid Content-Length ${ctx.req.headers["content-length"]}`);
  let buf = up.head;
  while (buf.length < len) {
    const chunk = await new Promise<Buffer | null>((resolve) => {
      const onData = (b: Buffer) => {
        cleanup();
        up.socket.pause();
        resolve(b);
      };
      const onEnd = () => {
        cleanup();
        resolve(null);
      };
      const cleanup = () => {
        up.socket.off("data", onData);
        up.socket.off("end", onEnd);
        up.socket.off("close", onEnd);
      };
      up.socket.on("data", onData);
      up.socket.once("end", onEnd);
      up.socket.once("close", onEnd);
      up.socket.resume();
    });
    if (chunk === null) throw new InvalidArgument("request body ended early");
    buf = Buffer.concat([buf, chunk]);
  }
  ctx.upgrade = { socket: up.socket, head: buf.subarray(len) };
  const text = buf.subarray(0, len).toString("utf8");
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new InvalidArgument(`invalid JSON in request body: ${(err as Error).message}`);
  }
}
