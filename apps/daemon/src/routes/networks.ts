import {
  type EndpointSettings,
  type Engine,
  type NetworkCreateRequest,
  parseFiltersJSON,
} from "@berth/engine";
import { InvalidArgument } from "@berth/errdefs";
import { bool, readJSON, sendJSON, sendStatus } from "../http.ts";
import type { Router } from "../Router.ts";

/** Docker's `POST /networks/{id}/connect` and `/disconnect` bodies. */
interface ConnectBody {
  Container?: string;
  EndpointConfig?: EndpointSettings | null;
  Force?: boolean;
}

async function objectBody<T>(ctx: Parameters<Parameters<Router["add"]>[2]>[0], what: string): Promise<T> {
  const body = (await readJSON<T>(ctx.req)) ?? ({} as T);
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new InvalidArgument(`invalid ${what} body: expected a JSON object`);
  return body;
}

/** networkRoutes: the `/networks/...` endpoints of the Engine API over `engine.networks`. */
export function networkRoutes(router: Router, engine: Engine): void {
  const n = engine.networks;

  router.add("GET", "/networks", (ctx) => {
    sendJSON(ctx, 200, n.list(parseFiltersJSON(ctx.query.get("filters") ?? undefined)));
  });

  router.add("GET", "/networks/{id}", (ctx) => {
    const scope = ctx.query.get("scope");
    if (scope && scope !== "local")
      throw new InvalidArgument(`network ${ctx.params.id} not found in scope ${scope}`);
    sendJSON(ctx, 200, n.inspect(ctx.params.id!));
  });

  router.add("POST", "/networks/create", async (ctx) => {
    const body = await objectBody<NetworkCreateRequest>(ctx, "network create");
    sendJSON(ctx, 201, await n.create(body));
  });

  router.add("DELETE", "/networks/{id}", async (ctx) => {
    await n.remove(ctx.params.id!);
    sendStatus(ctx, 204);
  });

  router.add("POST", "/networks/prune", async (ctx) => {
    sendJSON(ctx, 200, await n.prune(parseFiltersJSON(ctx.query.get("filters") ?? undefined)));
  });

  router.add("POST", "/networks/{id}/connect", async (ctx) => {
    const body = await objectBody<ConnectBody>(ctx, "network connect");
    if (!body.Container)
      throw new InvalidArgument("network connect needs Container: the container to connect");
    await engine.containers.connectNetwork(body.Container, ctx.params.id!, body.EndpointConfig ?? {});
    sendStatus(ctx, 200);
  });

  router.add("POST", "/networks/{id}/disconnect", async (ctx) => {
    const body = await objectBody<ConnectBody>(ctx, "network disconnect");
    if (!body.Container)
      throw new InvalidArgument("network disconnect needs Container: the container to disconnect");
    await engine.containers.disconnectNetwork(
      body.Container,
      ctx.params.id!,
      body.Force === true || bool(ctx.query, "force"),
    );
    sendStatus(ctx, 200);
  });
}
