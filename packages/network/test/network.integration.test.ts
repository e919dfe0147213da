import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import dgram from "node:dgram";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cidrsOverlap,
  connectEndpoint,
  createNetns,
  DnsServer,
  disconnectEndpoint,
  ensureBridge,
  Firewall,
  hostRoutes,
  listLinks,
  nthHost,
  PortProxy,
  removeBridge,
  removeNetns,
} from "../src/index.ts";

const isRoot = process.getuid?.() === 0;
const haveTools = ["ip", "iptables", "nsenter", "busybox"].every((t) => spawnSync("which", [t]).status === 0);

function sh(
  cmd: string,
  args: string[],
  timeoutMs = 10_000,
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, out, errOut) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === "number"
          ? (err as { code: number }).code
          : 1
        : 0;
      resolve({ code, out, err: errOut });
    });
  });
}

const ping = (ns: string, ip: string) => sh("nsenter", [`--net=${ns}`, "busybox", "ping", "-c1", "-W2", ip]);

async function iptablesSave(): Promise<string> {
  return (await sh("iptables-save", [])).out;
}

function berthLines(save: string, bridge: string): string[] {
  return save
    .split("\n")
    .filter(
      (l) =>
        l.includes(`berth:${bridge}"`) || l.endsWith(`berth:${bridge}`) || l.includes(`berth:${bridge} `),
    );
}

async function freeSubnets(count: number): Promise<string[]> {
  const routes = await hostRoutes();
  const out: string[] = [];
  for (let tries = 0; out.length < count && tries < 1000; tries++) {
    const cand = `10.123.${Math.floor(Math.random() * 256)}.0/24`;
    if (!routes.some((r) => cidrsOverlap(r, cand)) && !out.includes(cand)) out.push(cand);
  }
  if (out.length < count) throw new Error("no free 10.123.x.0/24 subnets");
  return out;
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(path)
      .on("data", (c) => h.update(c))
      .on("end", () => resolve(h.digest("hex")))
      .on("error", reject);
  });
}

function addressesFromNslookup(out: string): string[] {
  const after = out
    .split(/\n(?=Name:)/)
    .slice(1)
    .join("\n");
  return [...after.matchAll(/^Address(?: \d+)?:\s*([\d.]+)\s*$/gm)].map((m) => m[1] as string);
}

describe.skipIf(!isRoot || !haveTools)("network on real bridges, veths, netns, iptables", () => {
  const hex = randomBytes(3).toString("hex");
  const brA = `bt${hex}a`;
  const brB = `bt${hex}b`;
  const brGhost = `bt${hex}g`;
  let tmp: string;
  let subA: string;
  let subB: string;
  let gwA: string;
  let gwB: string;
  const ns: string[] = [];
  const ips: string[] = [];
  const veths = [`vt${hex}1`, `vt${hex}2`, `vt${hex}3`];
  const staleVeth = `vt${hex}9`;
  const fw = new Firewall();
  const children: ChildProcess[] = [];
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "berth-net-"));
    [subA, subB] = (await freeSubnets(2)) as [string, string];
    gwA = nthHost(subA, 1);
    gwB = nthHost(subB, 1);
    await ensureBridge({ name: brA, gateway: `${gwA}/24` });
    await ensureBridge({ name: brB, gateway: `${gwB}/24`, mtu: 1400 });
    for (let i = 0; i < 3; i++) {
      const path = join(tmp, "netns", `c${i}`);
      ns.push(path);
      await createNetns(path);
      const [sub, gw, br] = i < 2 ? [subA, gwA, brA] : [subB, gwB, brB];
      const ip = nthHost(sub, 2 + i);
      ips.push(ip);
      await connectEndpoint({
        netns: path,
        bridge: br,
        hostIfName: veths[i] as string,
        ifName: "eth0",
        address: `${ip}/24`,
        gateway: gw,
      });
    }
  });

  afterAll(async () => {
    for (const c of children) c.kill("SIGKILL");
    for (const close of closers.reverse()) await close().catch(() => {});
    for (const v of [...veths, staleVeth]) await disconnectEndpoint(v).catch(() => {});
    for (const b of [brA, brB]) await removeBridge(b).catch(() => {});
    for (const b of [brA, brB, brGhost])
      await fw.teardownNetwork({ bridge: b, subnet: "10.123.0.0/24" }).catch(() => {});
    for (const p of ns) await removeNetns(p).catch(() => {});
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("creates the bridge and endpoints as asked", async () => {
    const links = await listLinks();
    expect(links.find((l) => l.name === brA)).toMatchObject({ kind: "bridge" });
    expect(links.find((l) => l.name === veths[0])).toMatchObject({ kind: "veth", master: brA });
    expect(links.find((l) => l.name === veths[2])).toMatchObject({ kind: "veth", master: brB });
    const inside = JSON.parse(
      (await sh("nsenter", [`--net=${ns[0]}`, "ip", "-j", "addr", "show", "dev", "eth0"])).out,
    );
    expect(inside[0].address).toBe(
      `02:42:${(ips[0] as string)
        .split(".")
        .map((o) => Number(o).toString(16).padStart(2, "0"))
        .join(":")}`,
    );
    expect(inside[0].addr_info.map((a: { local: string }) => a.local)).toContain(ips[0]);
    const lo = JSON.parse(
      (await sh("nsenter", [`--net=${ns[0]}`, "ip", "-j", "link", "show", "dev", "lo"])).out,
    );
    expect(lo[0].flags).toContain("UP");
    const route = (await sh("nsenter", [`--net=${ns[2]}`, "ip", "route", "show", "default"])).out;
    expect(route).toContain(`via ${gwB}`);
    const mtu = JSON.parse((await sh("ip", ["-j", "link", "show", "dev", brB])).out);
    expect(mtu[0].mtu).toBe(1400);
    // The endpoint takes its bridge's MTU (read from sysfs), on both ends.
    const eth0 = JSON.parse(
      (await sh("nsenter", [`--net=${ns[2]}`, "ip", "-j", "link", "show", "dev", "eth0"])).out,
    );
    expect(eth0[0].mtu).toBe(1400);
    const host = JSON.parse((await sh("ip", ["-j", "link", "show", "dev", veths[2]!])).out);
    expect(host[0].mtu).toBe(1400);
  });

  it("setup twice is setup once (bridge, netns, endpoint)", async () => {
    // A changed gateway replaces the old address instead of adding a second one.
    await ensureBridge({ name: brA, gateway: "10.123.251.1/24" });
    await ensureBridge({ name: brA, gateway: `${gwA}/24` });
    const addrs = JSON.parse((await sh("ip", ["-j", "-4", "addr", "show", "dev", brA])).out);
    expect(addrs[0].addr_info.map((a: { local: string }) => a.local)).toEqual([gwA]);
    await createNetns(ns[0] as string);
    await connectEndpoint({
      netns: ns[0] as string,
      bridge: brA,
      hostIfName: veths[0] as string,
      ifName: "eth0",
      address: `${ips[0]}/24`,
      gateway: gwA,
    });
    let links = await listLinks();
    expect(links.filter((l) => l.name === veths[0])).toHaveLength(1);
    // A new host name for the same eth0 (as after a crash) replaces the stale pair, then back again.
    const again = {
      netns: ns[0] as string,
      bridge: brA,
      ifName: "eth0",
      address: `${ips[0]}/24`,
      gateway: gwA,
    };
    await connectEndpoint({ ...again, hostIfName: staleVeth });
    links = await listLinks();
    expect(links.some((l) => l.name === veths[0])).toBe(false);
    expect(links.find((l) => l.name === staleVeth)).toMatchObject({ master: brA });
    await connectEndpoint({ ...again, hostIfName: veths[0] as string });
    links = await listLinks();
    expect(links.some((l) => l.name === staleVeth)).toBe(false);
    expect(links.filter((l) => l.name === veths[0])).toHaveLength(1);
    const mounts = (await readFile("/proc/self/mountinfo", "utf8"))
      .split("\n")
      .filter((l) => l.includes(` ${ns[0]} `));
    expect(mounts).toHaveLength(1);
    await expect(ensureBridge({ name: veths[0] as string, gateway: `${gwA}/24` })).rejects.toMatchObject({
      _tag: "Conflict",
    });
  });

  it("two namespaces on one bridge reach each other and the gateway", async () => {
    const r = await ping(ns[0] as string, ips[1] as string);
    expect(r.code, r.out + r.err).toBe(0);
    expect((await ping(ns[1] as string, gwA)).code).toBe(0);
  });

  it("isolates berth bridges from each other; internal networks get no masquerade", async () => {
    await fw.setupNetwork({ bridge: brA, subnet: subA });
    await fw.setupNetwork({ bridge: brB, subnet: subB });
    const before = berthLines(await iptablesSave(), brA).length;
    await fw.setupNetwork({ bridge: brA, subnet: subA }); // idempotent
    const save = await iptablesSave();
    expect(berthLines(save, brA).length).toBe(before);
    expect(save).toMatch(
      new RegExp(`-A POSTROUTING -s ${subA.replace(/\./g, "\\.")} ! -o ${brA} .*MASQUERADE`),
    );
    expect((await readFile("/proc/sys/net/ipv4/ip_forward", "utf8")).trim()).toBe("1");

    expect((await ping(ns[2] as string, ips[0] as string)).code).not.toBe(0);
    expect((await ping(ns[0] as string, ips[2] as string)).code).not.toBe(0);
    // Same bridge still works with the rules in place.
    expect((await ping(ns[0] as string, ips[1] as string)).code).toBe(0);

    // Positive control: with B's rules gone, forwarding between the bridges works again when the
    // host's FORWARD policy lets it, proving the drop above came from the isolation chains.
    const policy = (await sh("iptables", ["-S", "FORWARD"])).out;
    await fw.teardownNetwork({ bridge: brB, subnet: subB });
    if (policy.includes("-P FORWARD ACCEPT")) {
      const r = await ping(ns[2] as string, ips[0] as string);
      expect(r.code, r.out + r.err).toBe(0);
    }
    await fw.setupNetwork({ bridge: brB, subnet: subB, internal: true });
    const internal = berthLines(await iptablesSave(), brB);
    expect(internal.some((l) => l.includes("MASQUERADE"))).toBe(false);
    expect(internal.some((l) => l.includes(`! -d ${subB}`) && l.includes("DROP"))).toBe(true);
    expect((await ping(ns[2] as string, ips[0] as string)).code).not.toBe(0);
  });

  it("a new bridge's rules go in as one iptables-restore batch, the same rules as one by one", async () => {
    // Wrappers log every iptables and iptables-restore run, then run the real program.
    const logFile = join(tmp, "ipt.log");
    const wrap = join(tmp, "ipt");
    for (const [name, real] of [
      [wrap, "iptables"],
      [`${wrap}-restore`, "iptables-restore"],
    ] as const) {
      await writeFile(name, `#!/bin/sh\necho "${real} $*" >> ${logFile}\nexec ${real} "$@"\n`, {
        mode: 0o755,
      });
    }
    const logged = async () =>
      (await readFile(logFile, "utf8").catch(() => "")).trim().split("\n").filter(Boolean);
    const counted = new Firewall({ iptables: wrap });
    await fw.setupNetwork({ bridge: brA, subnet: subA }); // shared chains in place
    await writeFile(logFile, "");
    await counted.setupNetwork({ bridge: brGhost, subnet: "10.123.251.0/24" });
    const runs = await logged();
    expect(
      runs.filter((l) => l.startsWith("iptables-restore ")),
      runs.join("\n"),
    ).toHaveLength(1);
    expect(runs.length, runs.join("\n")).toBeLessThanOrEqual(3); // two listings and the batch
    const batched = berthLines(await iptablesSave(), brGhost).sort();
    expect(batched.length).toBe(8);

    await writeFile(logFile, "");
    await counted.teardownNetwork({ bridge: brGhost, subnet: "10.123.251.0/24" });
    expect(berthLines(await iptablesSave(), brGhost)).toEqual([]);
    expect((await logged()).filter((l) => l.startsWith("iptables -w -t filter -D"))).toEqual([]);

    // One of its rules left over (a crash): each rule is checked and added on its own instead.
    await sh("iptables", [
      "-w",
      "-A",
      "BERTH-ISOLATION-2",
      "-o",
      brGhost,
      "-m",
      "comment",
      "--comment",
      `berth:${brGhost}`,
      "-j",
      "DROP",
    ]);
    await counted.setupNetwork({ bridge: brGhost, subnet: "10.123.251.0/24" });
    expect(berthLines(await iptablesSave(), brGhost).sort()).toEqual(batched);
    await counted.teardownNetwork({ bridge: brGhost, subnet: "10.123.251.0/24" });
    expect(berthLines(await iptablesSave(), brGhost)).toEqual([]);
  });

  it("sweep removes rules of bridges not kept, and only those", async () => {
    await fw.setupNetwork({ bridge: brGhost, subnet: "10.123.250.0/24" });
    expect(berthLines(await iptablesSave(), brGhost).length).toBeGreaterThan(0);
    // Keep every other berth bridge on the host (other tests may be running).
    const others = new Set(
      [...(await iptablesSave()).matchAll(/berth:([\w.@-]+)/g)].map((m) => m[1] as string),
    );
    others.delete(brGhost);
    await fw.sweep([...others]);
    const save = await iptablesSave();
    expect(berthLines(save, brGhost)).toEqual([]);
    expect(berthLines(save, brA).length).toBeGreaterThan(0);
    expect(berthLines(save, brB).length).toBeGreaterThan(0);
  });

  it("PortProxy reaches busybox httpd in a netns; 50 MB both ways intact; half-close; UDP echo", async () => {
    const www = join(tmp, "www");
    await mkdir(www);
    const big = join(www, "big.bin");
    await pipeline(
      (async function* () {
        for (let i = 0; i < 50; i++) yield randomBytes(1 << 20);
      })(),
      createWriteStream(big),
    );
    const httpd = spawn("nsenter", [`--net=${ns[0]}`, "busybox", "httpd", "-f", "-p", "80", "-h", www], {
      stdio: "ignore",
    });
    children.push(httpd);
    const servers = spawn(
      "nsenter",
      [`--net=${ns[0]}`, process.execPath, join(import.meta.dirname, "netnsServers.mjs")],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    children.push(servers);
    await new Promise<void>((resolve, reject) => {
      servers.stdout?.once("data", () => resolve());
      servers.once("exit", (c) => reject(new Error(`netns servers exited ${c}`)));
    });
    const ip = ips[0] as string;
    const web = await PortProxy.listen({
      proto: "tcp",
      hostIp: "127.0.0.1",
      hostPort: 0,
      targetIp: ip,
      targetPort: 80,
    });
    closers.push(() => web.close());
    const hash = await PortProxy.listen({
      proto: "tcp",
      hostIp: "127.0.0.1",
      hostPort: 0,
      targetIp: ip,
      targetPort: 9000,
    });
    closers.push(() => hash.close());
    const udp = await PortProxy.listen({
      proto: "udp",
      hostIp: "127.0.0.1",
      hostPort: 0,
      targetIp: ip,
      targetPort: 9001,
    });
    closers.push(() => udp.close());

    // Download: wait for httpd to be up, then fetch 50 MB.
    let got: { status: number; sha: string } | undefined;
    for (let i = 0; i < 50 && !got; i++) {
      got = await new Promise((resolve) => {
        const req = http.get({ host: "127.0.0.1", port: web.binding.hostPort, path: "/big.bin" }, (res) => {
          const h = createHash("sha256");
          res.on("data", (c) => h.update(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, sha: h.digest("hex") }));
          res.on("error", () => resolve(undefined));
        });
        req.on("error", () => setTimeout(() => resolve(undefined), 100));
      });
    }
    expect(got?.status).toBe(200);
    expect(got?.sha).toBe(await sha256File(big));

    // Upload 50 MB and half-close; the answer (the target's hash) must come back after our FIN.
    const answer = await new Promise<string>((resolve, reject) => {
      const c = net.connect({ host: "127.0.0.1", port: hash.binding.hostPort, allowHalfOpen: true });
      let out = "";
      c.on("data", (d) => {
        out += d.toString();
      });
      c.on("end", () => resolve(out));
      c.on("error", reject);
      createReadStream(big).pipe(c);
    });
    expect(answer).toBe(await sha256File(big));

    // UDP echo through the proxy into the namespace.
    const s = dgram.createSocket("udp4");
    try {
      const reply = await new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error("no udp reply")), 3000);
        s.once("message", (m) => {
          clearTimeout(t);
          resolve(m.toString());
        });
        s.send("ping", udp.binding.hostPort, "127.0.0.1");
      });
      expect(reply).toBe("echo:ping");
    } finally {
      s.close();
    }

    // The published port is taken while the proxy lives.
    await expect(PortProxy.listen({ ...web.binding })).rejects.toMatchObject({
      message: `Bind for 127.0.0.1:${web.binding.hostPort} failed: port is already allocated`,
    });
  }, 120_000);

  it("DnsServer on the bridge gateway answers nslookup from a netns, round robin, forwards unknown names", async () => {
    const upstream = await DnsServer.start({
      address: "127.0.0.1",
      port: 0,
      upstreams: [],
      lookup: (n) => (n === "outside.test" ? ["10.9.9.9"] : undefined),
    });
    closers.push(() => upstream.close());
    const dns = await DnsServer.start({
      address: gwA,
      upstreams: [`127.0.0.1:${upstream.port}`],
      lookup: (n) => (n === "web" ? [ips[0] as string, ips[1] as string] : undefined),
    });
    closers.push(() => dns.close());
    expect(dns.port).toBe(53);
    const look = async (name: string) => {
      const r = await sh("nsenter", [`--net=${ns[1]}`, "busybox", "nslookup", name, gwA]);
      return { ...r, addrs: addressesFromNslookup(r.out) };
    };
    const first = await look("web");
    expect(first.code, first.out + first.err).toBe(0);
    expect([...first.addrs].sort()).toEqual([ips[0], ips[1]].sort());
    const second = await look("web");
    expect(second.addrs[0]).not.toBe(first.addrs[0]);
    const outside = await look("outside.test");
    expect(outside.addrs).toEqual(["10.9.9.9"]);
  });

  it("teardown leaves no veth, bridge, iptables rule or mount, and is idempotent", async () => {
    for (const c of closers.splice(0).reverse()) await c();
    for (const v of veths) {
      await disconnectEndpoint(v);
      await disconnectEndpoint(v);
    }
    for (const b of [brA, brB]) {
      await fw.teardownNetwork({ bridge: b, subnet: b === brA ? subA : subB });
      await fw.teardownNetwork({ bridge: b, subnet: b === brA ? subA : subB });
      await removeBridge(b);
      await removeBridge(b);
    }
    for (const p of ns) {
      await removeNetns(p);
      await removeNetns(p);
    }
    const names = new Set((await listLinks()).map((l) => l.name));
    for (const n of [...veths, brA, brB]) expect(names.has(n)).toBe(false);
    const save = await iptablesSave();
    expect(berthLines(save, brA)).toEqual([]);
    expect(berthLines(save, brB)).toEqual([]);
    const mountinfo = await readFile("/proc/self/mountinfo", "utf8");
    expect(mountinfo.includes(tmp)).toBe(false);
  });
});
