/**
 * Connect: builds the Engine API client from `-H/--host` or `DOCKER_HOST`, and starts the local
 * daemon on demand: when the target is the default socket (no `-H`, no `DOCKER_HOST` or
 * `DOCKER_HOST` naming that socket) and nothing answers there (ENOENT/ECONNREFUSED), it spawns
 * `berthd` detached with its output in /var/log/berth/berthd.log and waits (up to ~10 s, polling
 * every 20 ms at first) until `/_ping` answers. Never for a remote host; `BERTH_NO_AUTOSTART=1`
 * turns it off.
 *
 * @since 0.1.0
 */
import { closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@berth/client";

/** DEFAULT_SOCKET is where berthd listens by default. */
export const DEFAULT_SOCKET = "/run/berth/berth.sock";
/** DAEMON_LOG is where an auto-started berthd writes its output. */
export const DAEMON_LOG = "/var/log/berth/berthd.log";

/** isLocalDefaultTarget tells whether the CLI targets the default local socket (autostart allowed). */
export function isLocalDefaultTarget(host: string | undefined, env: NodeJS.ProcessEnv): boolean {
  if (host !== undefined) return false;
  const dh = env.DOCKER_HOST;
  return dh === undefined || dh === "" || dh === `unix://${DEFAULT_SOCKET}` || dh === DEFAULT_SOCKET;
}

/** probeSocket resolves true when something accepts connections on the UNIX socket. */
export function probeSocket(path: string): Promise<{ ok: boolean; code?: string }> {
  return new Promise((done) => {
    const s = netConnect(path);
    s.once("connect", () => {
      s.destroy();
      done({ ok: true });
    });
    s.once("error", (err: NodeJS.ErrnoException) => {
      s.destroy();
      done({ ok: false, ...(err.code ? { code: err.code } : {}) });
    });
  });
}

/** pingSocket resolves true when `GET /_ping` on the socket answers 200. */
export async function pingSocket(path: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const client = new Client({ socketPath: path, timeoutMs });
    const res = await client.request("GET", "/_ping", { throwOnError: false });
    return res.status === 200;
  } catch {
    return false;
  }
}

/** findDaemon locates berthd: next to this CLI in the repo, else on PATH. */
export function findDaemon(): { command: string; args: string[] } {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    resolve(here, "../../daemon/bin/berthd.js"),
    resolve(here, "../../../daemon/bin/berthd.js"),
  ];
  for (const c of candidates) if (existsSync(c)) return { command: process.execPath, args: [c] };
  return { command: "berthd", args: [] };
}

/** StartDaemonOptions override where the daemon comes from and where it logs (for tests). */
export interface StartDaemonOptions {
  readonly daemon?: { command: string; args: string[] };
  readonly logPath?: string;
  readonly timeoutMs?: number;
}

/** startDaemon spawns berthd detached and waits until it answers `/_ping` on `socket`. */
export async function startDaemon(socket: string, opts: StartDaemonOptions = {}): Promise<boolean> {
  const { command, args } = opts.daemon ?? findDaemon();
  const logPath = opts.logPath ?? DAEMON_LOG;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  let fd: number | "ignore" = "ignore";
  try {
    mkdirSync(dirname(logPath), { recursive: true });
    fd = openSync(logPath, "a");
  } catch {
    // logging is best effort
  }
  let spawnFailed = false;
  // child_process (with dgram and friends) is loaded only here, not on every CLI start
  const { spawn } = await import("node:child_process");
  try {
    const child = spawn(command, args, { detached: true, stdio: ["ignore", fd, fd] });
    child.once("error", () => {
      spawnFailed = true;
    });
    // a daemon that dies right away (bad config, not built) should not cost the full timeout
    child.once("exit", () => {
      spawnFailed = true;
    });
    child.unref();
  } catch {
    return false;
  } finally {
    if (typeof fd === "number") closeSync(fd);
  }
  const deadline = Date.now() + timeoutMs;
  let attempt = 0;
  while (Date.now() < deadline) {
    const exited = spawnFailed;
    const probe = await probeSocket(socket);
    if (probe.ok && (await pingSocket(socket))) return true;
    if (exited) return false;
    attempt++;
    await new Promise((r) => setTimeout(r, attempt < 50 ? 20 : 100));
  }
  return false;
}

/** createClient returns the client for the CLI's target, auto-starting the local daemon if needed. */
export async function createClient(
  host: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Client> {
  const client = host !== undefined ? new Client({ host }) : Client.fromEnv(env);
  if (env.BERTH_NO_AUTOSTART !== "1" && isLocalDefaultTarget(host, env)) {
    const socket = client.socketPath ?? DEFAULT_SOCKET;
    if (socket === DEFAULT_SOCKET) {
      const probe = await probeSocket(socket);
      if (!probe.ok && (probe.code === "ENOENT" || probe.code === "ECONNREFUSED")) await startDaemon(socket);
    }
  }
  return client;
}
