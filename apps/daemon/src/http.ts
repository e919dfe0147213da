import type { IncomingMessage, ServerResponse } from "node:http";
import { InvalidArgument, isBerthError, statusOf } from "@berth/errdefs";
import type { Ctx } from "./Router.ts";

/** MAX_JSON_BODY bounds a JSON request body (a create body is a few KiB; 8 MiB is generous). */
export const MAX_JSON_BODY = 8 * 1024 * 1024;

/** readJSON reads and parses a bounded JSON body; an empty body is `undefined`. */
export async function readJSON<T>(req: IncomingMessage): Promise<T | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_JSON_BODY) throw new InvalidArgument(`request body is larger than ${MAX_JSON_BODY} bytes`);
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new InvalidArgument(`invalid JSON in request body: ${(err as Error).message}`);
  }
}

/** bool reads docker's boolean query values (`1`, `true`, `True`; `0`, `false`, empty). */
export function bool(q: URLSearchParams, key: string, dflt = false): boolean {
  const v = q.get(key);
  if (v === null) return dflt;
  return !(v === "" || v === "0" || v.toLowerCase() === "false");
}

/** int reads an integer query value. */
export function int(q: URLSearchParams, key: string): number | undefined {
  const v = q.get(key);
  if (v === null || v === "") return undefined;
  const n = Number(v);
  if (!Number.isFinite(n))
    throw new InvalidArgument(`invalid value for ${key}: ${JSON.stringify(v)} is not a number`);
  return Math.trunc(n);
}

/** res returns the response of an ordinary request (handlers that cannot be upgraded). */
export function resOf(ctx: Ctx): ServerResponse {
  if (!ctx.res) throw new InvalidArgument("this endpoint does not support connection upgrade");
  return ctx.res;
}

/** sendJSON answers with a JSON body and a trailing newline, as docker's encoder writes. */
export function sendJSON(ctx: Ctx, status: number, body: unknown): void {
  const res = resOf(ctx);
  const data = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) });
  res.end(data);
}

/** sendStatus answers with an empty body. */
export function sendStatus(ctx: Ctx, status: number): void {
  const res = resOf(ctx);
  res.writeHead(status);
  res.end();
}

/** errorBody is docker's error shape: `{"message": ...}`. */
export function errorBody(err: unknown): { status: number; body: string } {
  const message = isBerthError(err) || err instanceof Error ? (err as Error).message : String(err);
  return { status: statusOf(err), body: `${JSON.stringify({ message })}\n` };
}

/** sendError answers with docker's error body and the status of the error's kind. */
export function sendError(res: ServerResponse, err: unknown): void {
  const { status, body } = errorBody(err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}
