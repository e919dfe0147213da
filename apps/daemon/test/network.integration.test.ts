import { execFileSync, spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { mountsUnder, useDaemon } from "./harness.ts";
import { freePort, httpGet } from "./net.ts";

// Networks, name resolution, isolation and published ports through the real docker CLI (v28)
// against berthd. Traffic goes only to 127.0.0.1 and to addresses inside namespaces of this test.
const d = useDaemon();

function ok(args: string[], timeoutMs?: number): string {
  const r = d.docker(args, timeoutMs ? { timeoutMs } : {});
  if (r.code !== 0)
    throw new Error(`docker ${args.join(" ")} exited ${r.code}: ${r.stderr}\n${d.log.slice(-2000)}`);
  return r.stdout;
}

/** A busybox web server answering `text` on port 80 of its container. */
function webCmd(text: string): string[] {
  return ["sh", "-c", `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 80 -h /www`];
}

/** HTTP GET of `/` with busybox nc (busybox-static's wget crashes in glibc's static NSS). */
const NC_GET = `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3`;

/** fetchIp runs a container on `network` that fetches `/` from `ip`; stdout is the response body. */
function fetchIp(network: string, ip: string): { code: number; stdout: string; stderr: string } {
  const script = `${NC_GET} ${ip} 80 | sed '1,/^\r*$/d'`;
  return d.docker(["run", "--rm", "--network", network, "busybox", "sh", "-o", "pipefail", "-c", script]);
}

/** fetchByName resolves `name` with busybox's own resolver (nslookup), then fetches from that address. */
function fetchByName(network: string, name: string): { code: number; stdout: string; stderr: string } {
  const script = `ip=$(nslookup ${name} | awk '/^Address/ {a=$NF} END {print a}'); echo "$ip" >&2; ${NC_GET} "$ip" 80 | sed '1,/^\r*$/d'`;
  return d.docker(["run", "--rm", "--network", network, "busybox", "sh", "-c", script]);
}

function links(): string[] {
  return (spawnSync("ip", ["-o", "link"], { encoding: "utf8" }).stdout ?? "")
    .split("\n")
    .map((l) => l.split(":")[1]?.trim().split("@")[0] ?? "")
    .filter(Boolean);
}

function rulesFor(bridge: string): string[] {
  const out = execFileSync("iptables-save", { encoding: "utf8" });
  return out.split("\n").filter((l) => l.includes(`berth:${bridge}`));
}

/** dnatRules lists the kernel forwarding rules berth made for a host port. */
function dnatRules(port: number): string[] {
  return execFileSync("iptables", ["-t", "nat", "-S", "BERTH-DNAT"], { encoding: "utf8" })
    .split("\n")
    .filter((l) => l.includes(`--dport ${port} `));
}

function inspectNet(name: string): {
  Id: string;
  IPAM: { Config: { Subnet: string; Gateway: string }[] };
  Containers: Record<string, { Name: string; IPv4Address: string }>;
} {
  return (JSON.parse(ok(["network", "inspect", name])) as never[])[0]!;
}

function ipOf(container: string, network: string): string {
  return ok([
    "inspect",
    "-f",
    `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`,
    container,
  ]).trim();
}

describe("networks", () => {
  it("lists the predefined networks and creates a user network from the pool", () => {
    const ls = ok(["network", "ls"]);
    expect(ls.split("\n")[0]).toMatch(/^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/);
    expect(ls).toMatch(/bridge\s+bridge\s+local/);
    expect(ls).toMatch(/host\s+host\s+local/);
    expect(ls).toMatch(/none\s+null\s+local/);
    const id = ok(["network", "create", "--label", "team=a", "appnet"]).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const net = inspectNet("appnet");
    const cfg = net.IPAM.Config[0]!;
    expect(cfg.Subnet).toMatch(/^10\.\d+\.\d+\.0\/24$/);
    expect(cfg.Gateway).toBe(cfg.Subnet.replace(/0\/24$/, "1"));
    expect(links()).toContain(`br-${id.slice(0, 12)}`);
    const dup = d.docker(["network", "create", "appnet"]);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain("network with name appnet already exists");
    expect(ok(["network", "ls", "--filter", "label=team=a", "--format", "{{.Name}}"])).toBe("appnet\n");
    const bridge = inspectNet("bridge");
    expect(bridge.IPAM.Config[0]!.Subnet).toBe(d.bip.replace(/\.1\/24$/, ".0/24"));
  });

  it("resolves containers by name and alias on a user network; another network cannot reach them", () => {
    ok([
      "run",
      "-d",
      "--name",
      "web",
      "--network",
      "appnet",
      "--network-alias",
      "www",
      "busybox",
      ...webCmd("hello-web"),
    ]);
    const ip = ipOf("web", "appnet");
    expect(ip).toMatch(/^10\./);
    const viaName = fetchByName("appnet", "web");
    expect(viaName.stderr.trim()).toBe(ip);
    expect(viaName.stdout).toBe("hello-web\n");
    const viaAlias = fetchByName("appnet", "www");
    expect(viaAlias.stdout).toBe("hello-web\n");
    const resolv = ok(["run", "--rm", "--network", "appnet", "busybox", "cat", "/etc/resolv.conf"]);
    expect(resolv).toContain(`nameserver ${inspectNet("appnet").IPAM.Config[0]!.Gateway}`);
    const hosts = ok(["exec", "web", "cat", "/etc/hosts"]);
    expect(hosts).toMatch(new RegExp(`^${ip.replace(/\./g, "\\.")}\\t[0-9a-f]{12}$`, "m"));

    ok(["network", "create", "othernet"]);
    const byName = d.docker(["run", "--rm", "--network", "othernet", "busybox", "nslookup", "web"]);
    expect(byName.code).not.toBe(0);
    expect(fetchIp("appnet", ip).stdout).toBe("hello-web\n");
    const byIp = fetchIp("othernet", ip);
    expect(byIp.code).not.toBe(0);
    expect(byIp.stdout).toBe("");
    ok(["network", "rm", "othernet"]);
  });

  it("connects a running container to a second network and disconnects it", () => {
    ok(["network", "create", "second"]);
    ok(["network", "connect", "--alias", "web2", "second", "web"]);
    const ip2 = ipOf("web", "second");
    expect(ip2).toMatch(/^10\./);
    expect(ok(["exec", "web", "ip", "-o", "-4", "addr"])).toContain(ip2);
    const viaSecond = fetchByName("second", "web2");
    expect(viaSecond.stderr.trim()).toBe(ip2);
    expect(viaSecond.stdout).toBe("hello-web\n");
    const inUse = d.docker(["network", "rm", "second"]);
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toContain("has active endpoints");
    ok(["network", "disconnect", "second", "web"]);
    expect(ok(["exec", "web", "ip", "-o", "-4", "addr"])).not.toContain(ip2);
    ok(["network", "rm", "second"]);
  });

  it("publishes ports on 127.0.0.1 (fixed, ephemeral, -P) and shows them in ps, port and inspect", async () => {
    const fixed = await freePort();
    ok([
      "run",
      "-d",
      "--name",
      "pub",
      "-p",
      `${fixed}:80`,
      "-p",
      "127.0.0.1::80",
      "--expose",
      "81",
      "-P",
      "busybox",
      ...webCmd("hello-pub"),
    ]);
    expect(await httpGet(fixed)).toBe("hello-pub\n");
    // The kernel forwards the port (DNAT to the container); the proxy stays bound to it.
    const pubIp = ipOf("pub", "bridge");
    expect(dnatRules(fixed)).toHaveLength(1);
    expect(dnatRules(fixed)[0]).toContain(`--to-destination ${pubIp}:80`);
    const port = ok(["port", "pub"]);
    expect(port).toContain(`80/tcp -> 0.0.0.0:${fixed}`);
    const eph = /80\/tcp -> 127\.0\.0\.1:(\d+)/.exec(port);
    expect(eph).not.toBeNull();
    expect(await httpGet(Number(eph![1]))).toBe("hello-pub\n");
    expect(port).toMatch(/81\/tcp -> 0\.0\.0\.0:\d+/);
    expect(ok(["port", "pub", "80"])).toContain(`0.0.0.0:${fixed}`);
    const ps = ok(["ps", "--filter", "name=pub", "--format", "{{.Ports}}"]);
    expect(ps).toContain(`0.0.0.0:${fixed}->80/tcp`);
    const taken = d.docker(["run", "-d", "-p", `${fixed}:80`, "busybox", "sleep", "1"]);
    expect(taken.code).not.toBe(0);
    expect(taken.stderr).toContain("port is already allocated");
    expect(ok(["port", "pub"])).toContain(`0.0.0.0:${fixed}`);
    // berth's own CLI reads the same mapping.
    expect(d.berth(["port", "pub", "80/tcp"]).stdout).toContain(`0.0.0.0:${fixed}`);
    ok(["rm", "-f", "pub"]);
    expect(dnatRules(fixed)).toEqual([]);
    await expect(httpGet(fixed, { tries: 0 })).rejects.toThrow();
  });

  it("spreads one published port over the replicas of a compose service", async () => {
    const port = await freePort();
    const labels = [
      "--label",
      "com.docker.compose.project=seed",
      "--label",
      "com.docker.compose.service=web",
    ];
    const names = ["seed-web-1", "seed-web-2", "seed-web-3"];
    for (const n of names)
      ok(["run", "-d", "--name", n, ...labels, "-p", `${port}:80`, "busybox", ...webCmd(n)]);
    const seen = new Set<string>();
    for (let i = 0; i < 9; i++) seen.add((await httpGet(port)).trim());
    expect([...seen].sort()).toEqual(names);
    // Another owner cannot take the port; a replica that goes away is left out.
    const other = d.docker(["run", "-d", "-p", `${port}:80`, "busybox", "sleep", "5"]);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain("port is already allocated");
    ok(["rm", "-f", "seed-web-2"]);
    const after = new Set<string>();
    for (let i = 0; i < 6; i++) after.add((await httpGet(port)).trim());
    expect([...after].sort()).toEqual(["seed-web-1", "seed-web-3"]);
    expect(ok(["port", "seed-web-3", "80"])).toContain(`0.0.0.0:${port}`);
    ok(["rm", "-f", "seed-web-1", "seed-web-3"]);
    await expect(httpGet(port, { tries: 0 })).rejects.toThrow();
  });

  it("puts containers on the default bridge, --network none with only lo, host with the host's links", () => {
    const ip = ok([
      "run",
      "--rm",
      "busybox",
      "sh",
      "-c",
      "ip -o -4 addr show eth0 | awk '{print $4}'",
    ]).trim();
    expect(ip.startsWith(d.bip.replace(/\.1\/24$/, "."))).toBe(true);
    const none = ok(["run", "--rm", "--network", "none", "busybox", "ip", "-o", "link"]);
    expect(none.trim().split("\n")).toHaveLength(1);
    const host = ok(["run", "--rm", "--network", "host", "busybox", "ip", "-o", "link"]);
    expect(host).toContain(d.bridge);
    const unknown = d.docker(["run", "--rm", "--network", "nosuchnet", "busybox", "true"]);
    expect(unknown.code).toBe(125);
    expect(unknown.stderr).toContain("network nosuchnet not found");
  });

  it("keeps published ports across a daemon kill -9, then leaves nothing behind", async () => {
    const port = await freePort();
    ok([
      "run",
      "-d",
      "--name",
      "survivor",
      "--network",
      "appnet",
      "-p",
      `${port}:80`,
      "busybox",
      ...webCmd("still-here"),
    ]);
    expect(await httpGet(port)).toBe("still-here\n");
    await d.kill9();
    expect(dnatRules(port)).toHaveLength(1);
    await d.start();
    expect(await httpGet(port)).toBe("still-here\n");
    expect(dnatRules(port)).toHaveLength(1);
    const sandbox = ok(["inspect", "-f", "{{.NetworkSettings.SandboxKey}}", "survivor"]).trim();
    expect(mountsUnder(sandbox)).toHaveLength(1);
    const ids = ok(["inspect", "-f", "{{.Id}}", "survivor", "web"]).trim().split("\n");
    const veths = () => links().filter((l) => ids.some((i) => l.startsWith(`vb${i.slice(0, 10)}`)));
    expect(veths()).toHaveLength(2);
    ok(["rm", "-f", "survivor", "web"]);
    expect(mountsUnder(`${d.execRoot}/n/`)).toEqual([]);
    expect(veths()).toEqual([]);
    const id = inspectNet("appnet").Id;
    ok(["network", "rm", "appnet"]);
    expect(links()).not.toContain(`br-${id.slice(0, 12)}`);
    expect(rulesFor(`br-${id.slice(0, 12)}`)).toEqual([]);
    expect(dnatRules(port)).toEqual([]);
    await expect(httpGet(port, { tries: 0 })).rejects.toThrow();
  });

  it("reports network events as dockerd does", () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    ok(["network", "create", "evnet"]);
    ok(["run", "--rm", "--network", "evnet", "busybox", "true"]);
    ok(["network", "rm", "evnet"]);
    const until = Math.floor(Date.now() / 1000) + 1;
    const out = ok([
      "events",
      "--since",
      String(since),
      "--until",
      String(until),
      "--filter",
      "type=network",
      "--format",
      "{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.type}}",
    ]);
    // The window starts a second early: the previous test's network events may fall into it.
    const lines = out
      .trim()
      .split("\n")
      .filter((l) => l.split(" ")[1] === "evnet");
    expect(lines).toEqual([
      "create evnet bridge",
      "connect evnet bridge",
      "disconnect evnet bridge",
      "destroy evnet bridge",
    ]);
  });
});
