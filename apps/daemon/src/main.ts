import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { Engine } from "@berth/engine";
import { closeInheritedFds } from "./closeInheritedFds.ts";
import { Router } from "./Router.ts";
import { buildRoutes } from "./routes/build.ts";
import { containerOpsRoutes } from "./routes/containerOps.ts";
import { containerRoutes } from "./routes/containers.ts";
import { distributionRoutes } from "./routes/distribution.ts";
import { eventRoutes } from "./routes/events.ts";
import { execRoutes } from "./routes/exec.ts";
import { imageArchiveRoutes } from "./routes/imageArchive.ts";
import { imageRoutes } from "./routes/images.ts";
import { networkRoutes } from "./routes/networks.ts";
import { pruneRoutes } from "./routes/prune.ts";
import { systemRoutes } from "./routes/system.ts";
import { volumeRoutes } from "./routes/volumes.ts";
import { SERVER_VERSION, Server } from "./Server.ts";

const usage = `Usage:  berthd [OPTIONS]

A self-sufficient runtime for containers, speaking the Docker Engine API.

Options:
      --data-root string   Root directory of persistent state (default "/var/lib/berth")
      --exec-root string   Root directory for execution state (default "/run/berth")
  -H, --host string        Daemon socket to listen on (default "unix:///run/berth/berth.sock")
      --runtime string     OCI runtime binary (default "runc")
  -b, --bridge string      Device of the default bridge network (default "berth0")
      --bip string         Gateway address and prefix of the default bridge (default "10.87.0.1/16")
      --default-address-pool base=CIDR,size=N
                           Where user networks take their subnets (default base=10.88.0.0/14,size=24)
  -D, --debug              Enable debug logging
      --insecure-registry HOST[:PORT]  Registry reached over HTTP or unverified TLS (repeatable)
      --blocked-registry HOST[:PORT]   Registry never contacted (repeatable; e.g. docker.io offline)
      --certs-dir DIR      Per-registry certificates (default "/etc/berth/certs.d")
  -v, --version            Print version information and quit
  -h, --help               Print usage
`;

async function main(): Promise<void> {
  let args: ReturnType<typeof parseArgs>["values"];
  try {
    ({ values: args } = parseArgs({
      options: {
        "data-root": { type: "string", default: "/var/lib/berth" },
        "exec-root": { type: "string", default: "/run/berth" },
        host: { type: "string", short: "H" },
        runtime: { type: "string", default: "runc" },
        bridge: { type: "string", short: "b" },
        bip: { type: "string" },
        "default-address-pool": { type: "string", multiple: true },
        debug: { type: "boolean", short: "D", default: false },
        "insecure-registry": { type: "string", multiple: true },
        "blocked-registry": { type: "string", multiple: true },
        "certs-dir": { type: "string" },
        version: { type: "boolean", short: "v", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`berthd: ${(err as Error).message}\n\n${usage}`);
    process.exit(125);
  }
  if (args.help) {
    process.stdout.write(usage);
    return;
  }
  if (args.version) {
    process.stdout.write(`Berth version ${SERVER_VERSION}\n`);
    return;
  }
  const debug = args.debug === true || process.env.BERTH_DEBUG === "1";
  const log = (msg: string) => process.stderr.write(`${new Date().toISOString()} berthd: ${msg}\n`);
  const dlog = debug ? log : () => {};
  if (process.getuid?.() !== 0) {
    log("berthd needs root: it mounts file systems and creates namespaces; run it as root");
    process.exit(1);
  }
  const inherited = closeInheritedFds();
  if (inherited.length > 0) dlog(`closed inherited fds ${inherited.join(", ")}`);
  const execRoot = String(args["exec-root"]);
  const host = String(args.host ?? `unix://${execRoot}/berth.sock`);
  if (!host.startsWith("unix://")) {
    log(`unsupported --host ${host}: only unix:///path sockets are served so far`);
    process.exit(125);
  }
  const socketPath = host.slice("unix://".length);
  const engine = await Engine.open({
    root: String(args["data-root"]),
    runRoot: execRoot,
    runc: String(args.runtime),
    registries: {
      insecure: (args["insecure-registry"] as string[] | undefined) ?? [],
      blocked: (args["blocked-registry"] as string[] | undefined) ?? [],
      ...(args["certs-dir"] ? { certsDir: String(args["certs-dir"]) } : {}),
    },
    network: {
      ...(args.bridge ? { bridgeName: String(args.bridge) } : {}),
      ...(args.bip ? { bridgeIp: String(args.bip) } : {}),
      ...(args["default-address-pool"]
        ? { pools: (args["default-address-pool"] as string[]).map(parseAddressPool) }
        : {}),
    },
    log,
  });
  const router = new Router();
  systemRoutes(router, engine);
  eventRoutes(router, engine);
  pruneRoutes(router, engine);
  containerRoutes(router, engine);
  containerOpsRoutes(router, engine);
  execRoutes(router, engine);
  imageArchiveRoutes(router, engine);
  imageRoutes(router, engine);
  distributionRoutes(router, engine);
  volumeRoutes(router, engine);
  networkRoutes(router, engine);
  buildRoutes(router, engine);
  const server = new Server(router, dlog);
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o711 });
  await server.listen(socketPath);
  log(`API listening on ${socketPath} (data root ${args["data-root"]})`);

  let stopping = false;
  const stop = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: shutting down; containers keep running under conmon`);
    const force = setTimeout(() => process.exit(0), 5000);
    force.unref();
    await server.close();
    // A --rm removal answered already may still be releasing its mount and layer: let it finish.
    await engine.containers.removalsSettled();
    engine.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

/** parseAddressPool reads dockerd's `--default-address-pool base=10.10.0.0/16,size=24`. */
function parseAddressPool(v: string): { base: string; size: number } {
  const kv = Object.fromEntries(v.split(",").map((p) => p.split("=", 2) as [string, string]));
  const size = Number(kv.size);
  if (!kv.base || !Number.isInteger(size) || size < 1 || size > 30) {
    process.stderr.write(`berthd: invalid --default-address-pool ${v}: expected base=CIDR,size=N\n`);
    process.exit(125);
  }
  return { base: kv.base, size };
}

main().catch((err: unknown) => {
  process.stderr.write(`berthd: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
