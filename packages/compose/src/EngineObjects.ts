/**
 * EngineObjects: the few Engine API calls compose needs beyond @berth/client's typed methods
 * (networks, volumes, pull, push, build), written over `client.request` so they work against
 * berthd and dockerd alike.
 *
 * @since 0.1.0
 */
import { decodeJSONLines, type JSONMessage, JSONMessageError, jsonMessageError } from "@berth/api";
import type { Client } from "@berth/client";
import { isKind } from "@berth/errdefs";

/** inspectNetwork returns `GET /networks/{name}` or undefined when it does not exist. */
export async function inspectNetwork(
  client: Client,
  name: string,
): Promise<Record<string, unknown> | undefined> {
  try {
    const res = await client.request("GET", `/networks/${encodeURIComponent(name)}`);
    return JSON.parse(res.body.toString("utf8")) as Record<string, unknown>;
  } catch (err) {
    if (isKind(err, "NotFound")) return undefined;
    throw err;
  }
}

/** listNetworks returns `GET /networks` with label filters. */
export async function listNetworks(
  client: Client,
  labels: string[],
): Promise<Array<Record<string, unknown>>> {
  const res = await client.request("GET", "/networks", {
    query: { filters: JSON.stringify({ label: labels }) },
  });
  return (JSON.parse(res.body.toString("utf8")) as Array<Record<string, unknown>> | null) ?? [];
}

/** createNetwork is `POST /networks/create`. */
export async function createNetwork(client: Client, body: Record<string, unknown>): Promise<string> {
  const res = await client.request("POST", "/networks/create", { body });
  return String((JSON.parse(res.body.toString("utf8")) as { Id?: string }).Id ?? "");
}

/** removeNetwork is `DELETE /networks/{name}` (a missing network is not an error). */
export async function removeNetwork(client: Client, name: string): Promise<boolean> {
  try {
    await client.request("DELETE", `/networks/${encodeURIComponent(name)}`);
    return true;
  } catch (err) {
    if (isKind(err, "NotFound")) return false;
    throw err;
  }
}

/** connectNetwork is `POST /networks/{id}/connect`. */
export async function connectNetwork(
  client: Client,
  network: string,
  container: string,
  endpoint: Record<string, unknown>,
): Promise<void> {
  await client.request("POST", `/networks/${encodeURIComponent(network)}/connect`, {
    body: { Container: container, EndpointConfig: endpoint },
  });
}

/** inspectVolume returns `GET /volumes/{name}` or undefined. */
export async function inspectVolume(
  client: Client,
  name: string,
): Promise<Record<string, unknown> | undefined> {
  try {
    const res = await client.request("GET", `/volumes/${encodeURIComponent(name)}`);
    return JSON.parse(res.body.toString("utf8")) as Record<string, unknown>;
  } catch (err) {
    if (isKind(err, "NotFound")) return undefined;
    throw err;
  }
}

/** createVolume is `POST /volumes/create`. */
export async function createVolume(client: Client, body: Record<string, unknown>): Promise<void> {
  await client.request("POST", "/volumes/create", { body });
}

/** removeVolume is `DELETE /volumes/{name}` (missing is not an error). */
export async function removeVolume(client: Client, name: string): Promise<boolean> {
  try {
    await client.request("DELETE", `/volumes/${encodeURIComponent(name)}`);
    return true;
  } catch (err) {
    if (isKind(err, "NotFound")) return false;
    throw err;
  }
}

async function drain(
  res: AsyncIterable<Uint8Array>,
  onMessage?: (m: JSONMessage) => void,
): Promise<JSONMessage[]> {
  const all: JSONMessage[] = [];
  for await (const msg of decodeJSONLines<JSONMessage>(res)) {
    all.push(msg);
    const text = jsonMessageError(msg);
    if (text !== undefined) {
      throw new JSONMessageError({
        ...(msg.errorDetail?.code === undefined ? {} : { code: msg.errorDetail.code }),
        message: text,
      });
    }
    onMessage?.(msg);
  }
  return all;
}

function splitRef(ref: string): { name: string; tag: string | undefined } {
  const at = ref.indexOf("@");
  if (at !== -1) return { name: ref.slice(0, at), tag: ref.slice(at + 1) };
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  if (colon > slash) return { name: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { name: ref, tag: undefined };
}

const NO_AUTH = Buffer.from("{}").toString("base64");

/** pullImage is `POST /images/create?fromImage=&tag=`; an error line rejects. */
export async function pullImage(
  client: Client,
  ref: string,
  onMessage?: (m: JSONMessage) => void,
): Promise<void> {
  const { name, tag } = splitRef(ref);
  const res = await client.requestStream("POST", "/images/create", {
    query: { fromImage: name, tag: tag ?? "latest" },
    headers: { "X-Registry-Auth": NO_AUTH },
  });
  await drain(res, onMessage);
}

/** pushImage is `POST /images/{name}/push?tag=`; an error line rejects. */
export async function pushImage(
  client: Client,
  ref: string,
  onMessage?: (m: JSONMessage) => void,
): Promise<void> {
  const { name, tag } = splitRef(ref);
  const res = await client.requestStream("POST", `/images/${name}/push`, {
    query: tag === undefined ? {} : { tag },
    headers: { "X-Registry-Auth": NO_AUTH },
  });
  await drain(res, onMessage);
}

/** BuildRequest is one `POST /build`. */
export interface BuildRequest {
  readonly context: NodeJS.ReadableStream | AsyncIterable<Uint8Array>;
  readonly tag: string;
  readonly dockerfile?: string;
  readonly target?: string;
  readonly buildArgs?: Record<string, string>;
  readonly labels?: Record<string, string>;
  readonly noCache?: boolean;
  readonly pull?: boolean;
}

/** buildImage is `POST /build` with a context tar; resolves when the build succeeded. */
export async function buildImage(
  client: Client,
  b: BuildRequest,
  onMessage?: (m: JSONMessage) => void,
): Promise<void> {
  const res = await client.requestStream("POST", "/build", {
    query: {
      t: b.tag,
      dockerfile: b.dockerfile ?? "Dockerfile",
      buildargs: JSON.stringify(b.buildArgs ?? {}),
      labels: JSON.stringify(b.labels ?? {}),
      rm: true,
      version: "1",
      ...(b.target ? { target: b.target } : {}),
      ...(b.noCache ? { nocache: true } : {}),
      ...(b.pull ? { pull: "1" } : {}),
    },
    body: b.context,
    headers: { "Content-Type": "application/x-tar" },
  });
  await drain(res, onMessage);
}
