import { get } from "node:http";
import { createServer, type Server } from "node:net";

/** freePorts asks the kernel for `n` distinct ports nobody listens on now (all held until the last is found). */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    ports.push((srv.address() as { port: number }).port);
    servers.push(srv);
  }
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** freePort is one {@link freePorts}. */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0] as number;
}

/**
 * httpGet fetches `/` from 127.0.0.1:port on a new connection, retrying (every `delayMs`, up to
 * `tries` more times) while the server in the container starts; rejects with the last error.
 */
export async function httpGet(
  port: number,
  opts: { tries?: number; delayMs?: number; timeoutMs?: number } = {},
): Promise<string> {
  const { tries = 50, delayMs = 100, timeoutMs = 3000 } = opts;
  for (let i = 0; ; i++) {
    try {
      return await new Promise<string>((resolve, reject) => {
        const req = get({ host: "127.0.0.1", port, path: "/", agent: false, timeout: timeoutMs }, (res) => {
          let body = "";
          res.on("data", (c: Buffer) => {
            body += c.toString();
          });
          res.on("end", () => resolve(body));
        });
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", reject);
      });
    } catch (err) {
      if (i >= tries) throw err;
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}
