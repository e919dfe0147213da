import { createHash, randomBytes } from "node:crypto";
import dgram from "node:dgram";
import net from "node:net";
import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PortProxy } from "../src/PortProxy.ts";

/** A TCP server on 127.0.0.1 that answers each connection with sha256(received) once the client half-closes, then ends. */
function hashServer(): Promise<net.Server> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    const h = createHash("sha256");
    s.on("data", (c) => h.update(c));
    s.on("end", () => s.end(h.digest("hex")));
    s.on("error", () => {});
  });
  return new Promise((r) => server.listen(0, "127.0.0.1", () => r(server)));
}

const hasIpv6 = Object.values(networkInterfaces()).some((l) =>
  l?.some((a) => a.family === "IPv6" && a.address === "::1"),
);

function portOf(s: net.Server): number {
  return (s.address() as net.AddressInfo).port;
}

describe("PortProxy tcp", () => {
  let target: net.Server;
  let proxy: PortProxy;
  beforeAll(async () => {
    target = await hashServer();
    proxy = await PortProxy.listen({
      proto: "tcp",
      hostIp: "127.0.0.1",
      hostPort: 0,
      targetIp: "127.0.0.1",
      targetPort: portOf(target),
    });
  });
  afterAll(async () => {
    await proxy?.close();
    await new Promise((r) => target?.close(r));
  });

  it("fills in the ephemeral port", () => {
    expect(proxy.binding.hostPort).toBeGreaterThan(0);
    expect(proxy.binding.targetPort).toBe(portOf(target));
  });

  it("half-close: the client's FIN reaches the target, whose answer still comes back", async () => {
    const payload = randomBytes(3 * 1024 * 1024);
    const answer = await new Promise<string>((resolve, reject) => {
      const c = net.connect({ host: "127.0.0.1", port: proxy.binding.hostPort, allowHalfOpen: true });
      let out = "";
      c.on("data", (d) => {
        out += d.toString();
      });
      c.on("end", () => resolve(out));
      c.on("error", reject);
      c.end(payload);
    });
    expect(answer).toBe(createHash("sha256").update(payload).digest("hex"));
  });

  it("closes the client when the target refuses", async () => {
    const dead = await hashServer();
    const port = portOf(dead);
    await new Promise((r) => dead.close(r));
    const p = await PortProxy.listen({
      proto: "tcp",
      hostIp: "127.0.0.1",
      hostPort: 0,
      targetIp: "127.0.0.1",
      targetPort: port,
    });
    try {
      const closed = await new Promise<boolean>((resolve) => {
        const c = net.connect({ host: "127.0.0.1", port: p.binding.hostPort });
        c.on("error", () => {});
        c.on("close", () => resolve(true));
        setTimeout(() => resolve(false), 3000);
      });
      expect(closed).toBe(true);
    } finally {
      await p.close();
    }
  });

  it("Conflict with docker's message when the port is taken", async () => {
    const err = await PortProxy.listen({
      proto: "tcp",
      hostIp: "127.0.0.1",
      hostPort: proxy.binding.hostPort,
      targetIp: "127.0.0.1",
      targetPort: 1,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      _tag: "Conflict",
      message: `Bind for 127.0.0.1:${proxy.binding.hostPort} failed: port is already allocated`,
    });
  });

  it("close cuts live connections and frees the port", async () => {
    const p = await PortProxy.listen({
      proto: "tcp",
      hostIp: "127.0.0.1",
      hostPort: 0,
      targetIp: "127.0.0.1",
      targetPort: portOf(target),
    });
    const c = net.connect({ host: "127.0.0.1", port: p.binding.hostPort });
    await new Promise((r) => c.on("connect", r));
    const closed = new Promise((r) => c.on("close", r));
    c.on("error", () => {});
    await new Promise((r) => setTimeout(r, 50));
    await p.close();
    await closed;
    const again = await PortProxy.listen({ ...p.binding });
    await again.close();
  });

  it("listens on 0.0.0.0, and :: takes only the IPv6 side of the same port", async () => {
    const any = await PortProxy.listen({
      proto: "tcp",
      hostIp: "0.0.0.0",
      hostPort: 0,
      targetIp: "127.0.0.1",
      targetPort: portOf(target),
    });
    try {
      const answer = await new Promise<string>((resolve, reject) => {
        const c = net.connect({ host: "127.0.0.1", port: any.binding.hostPort, allowHalfOpen: true });
        let out = "";
        c.on("data", (d) => {
          out += d.toString();
        });
        c.on("end", () => resolve(out));
        c.on("error", reject);
        c.end("x");
      });
      expect(answer).toBe(createHash("sha256").update("x").digest("hex"));
      // docker's empty HostIp is 0.0.0.0 too.
      await expect(PortProxy.listen({ ...any.binding, hostIp: "" })).rejects.toMatchObject({
        message: `Bind for 0.0.0.0:${any.binding.hostPort} failed: port is already allocated`,
      });
      if (hasIpv6) {
        const v6 = await PortProxy.listen({
          proto: "tcp",
          hostIp: "::",
          hostPort: any.binding.hostPort,
          targetIp: "127.0.0.1",
          targetPort: 1,
        });
        await v6.close();
      }
    } finally {
      await any.close();
    }
  });

  it("rejects bad bindings", async () => {
    await expect(
      PortProxy.listen({ proto: "tcp", hostIp: "x", hostPort: 0, targetIp: "127.0.0.1", targetPort: 1 }),
    ).rejects.toMatchObject({
      _tag: "InvalidArgument",
    });
    await expect(
      PortProxy.listen({
        proto: "tcp",
        hostIp: "127.0.0.1",
        hostPort: 70000,
        targetIp: "127.0.0.1",
        targetPort: 1,
      }),
    ).rejects.toMatchObject({ _tag: "InvalidArgument" });
  });
});

describe("PortProxy udp", () => {
  let echo: dgram.Socket;
  let proxy: PortProxy;
  beforeAll(async () => {
    echo = dgram.createSocket("udp4");
    echo.on("message", (m, r) => echo.send(Buffer.concat([Buffer.from("echo:"), m]), r.port, r.address));
    await new Promise<void>((r) => echo.bind(0, "127.0.0.1", () => r()));
    proxy = await PortProxy.listen({
      proto: "udp",
      hostIp: "127.0.0.1",
      hostPort: 0,
      targetIp: "127.0.0.1",
      targetPort: echo.address().port,
    });
  });
  afterAll(async () => {
    await proxy?.close();
    echo?.close();
  });

  it("relays datagrams both ways, replies from the listening port, per client", async () => {
    const ask = (s: dgram.Socket, text: string) =>
      new Promise<{ msg: string; port: number }>((resolve) => {
        s.once("message", (m, r) => resolve({ msg: m.toString(), port: r.port }));
        s.send(text, proxy.binding.hostPort, "127.0.0.1");
      });
    const a = dgram.createSocket("udp4");
    const b = dgram.createSocket("udp4");
    try {
      expect(await ask(a, "one")).toEqual({ msg: "echo:one", port: proxy.binding.hostPort });
      expect(await ask(b, "two")).toEqual({ msg: "echo:two", port: proxy.binding.hostPort });
      expect(await ask(a, "three")).toEqual({ msg: "echo:three", port: proxy.binding.hostPort });
    } finally {
      a.close();
      b.close();
    }
  });

  it("Conflict when the udp port is taken", async () => {
    await expect(PortProxy.listen({ ...proxy.binding })).rejects.toMatchObject({
      _tag: "Conflict",
      message: `Bind for 127.0.0.1:${proxy.binding.hostPort} failed: port is already allocated`,
    });
  });
});
