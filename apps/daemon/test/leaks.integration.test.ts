import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { mountsUnder, useDaemon } from "./harness.ts";
import { freePorts } from "./net.ts";

// The no-leak proof: 30 containers with published ports on user networks and the default
// bridge are created and removed in every way docker offers (--rm, stop then rm, rm -f), with a
// daemon kill -9 in the middle; afterwards none of their veths, bridges, iptables rules, DNAT rules,
// port listeners, mounts or conmons is left. Traffic goes only to 127.0.0.1.
const d = useDaemon();

function ok(args: string[], timeoutMs = 60_000): string {
  const r = d.docker(args, { timeoutMs });
  if (r.code !== 0)
    throw new Error(`docker ${args.join(" ")} exited ${r.code}: ${r.stderr}\n${d.log.slice(-2000)}`);
  return r.stdout;
}

function links(): string[] {
  return (spawnSync("ip", ["-o", "link"], { encoding: "utf8" }).stdout ?? "")
    .split("\n")
    .map((l) => l.split(":")[1]?.trim().split("@")[0] ?? "")
    .filter(Boolean);
}

/** rulesFor lists every iptables rule (filter and nat) tagged for a bridge. */
function rulesFor(bridge: string): string[] {
  return execFileSync("iptables-save", { encoding: "utf8" })
    .split("\n")
    .filter((l) => l.includes(`berth:${bridge}`));
}

/** dnatRules lists the kernel forwarding rules for any of the ports. */
function dnatRules(ports: number[]): string[] {
  return execFileSync("iptables", ["-t", "nat", "-S", "BERTH-DNAT"], { encoding: "utf8" })
    .split("\n")
    .filter((l) => ports.some((p) => l.includes(`--dport ${p} `)));
}

/** listeners lists the TCP ports among `ports` that something listens on. */
function listeners(ports: number[]): number[] {
  const out = spawnSync("ss", ["-Hltn"], { encoding: "utf8" }).stdout ?? "";
  const open = new Set(
    out
      .split("\n")
      .map((l) => Number(l.trim().split(/\s+/)[3]?.split(":").pop()))
      .filter((p) => p > 0),
  );
  return ports.filter((p) => open.has(p));
}

/** processesNaming lists the command lines of processes that mention any of the IDs. */
function processesNaming(ids: string[]): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    let cmd = "";
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
    } catch {
      continue;
    }
    if (ids.some((id) => cmd.includes(id))) found.push(`${pid}: ${cmd}`);
  }
  return found;
}

function inspectNetId(name: string): string {
  return ok(["network", "inspect", "-f", "{{.Id}}", name]).trim();
}

/** waitGone polls until no container of `ids` is listed any more (--rm removals are asynchronous). */
async function waitGone(ids: string[], ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = ok(["ps", "-aq", "--no-trunc"])
      .split("\n")
      .filter((x) => ids.includes(x));
    if (left.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(`containers not removed: ${left.join(" ")}\n${d.log.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("no leaks after 30 containers with ports and networks, with a daemon kill -9 in the middle", () => {
  it("leaves no veth, bridge, rule, listener, mount or conmon behind", { timeout: 600_000 }, async () => {
    const nets = ["leak-a", "leak-b", "leak-c"];
    for (const n of nets) ok(["network", "create", n]);
    const bridges = nets.map((n) => `br-${inspectNetId(n).slice(0, 12)}`);
    for (const b of bridges) expect(links()).toContain(b);
    const ports = await freePorts(30);
    const networkOf = (i: number) => (i % 4 === 3 ? "bridge" : nets[i % 3]!);

    // 30 containers, each publishing one host port: 0-9 --rm, 10-19 to be stopped then removed,
    // 20-29 to be removed with rm -f. 4-5 of the --rm ones exit while berthd is dead.
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const cmd = ["sleep", "1000"];
      const args = ["run", "-d", "--network", networkOf(i), "-p", `127.0.0.1:${ports[i]}:80`];
      if (i < 10) args.push("--rm");
      ids.push(ok([...args, "busybox", ...cmd]).trim());
    }
    // Every container is plugged in and its port served, so the checks below can fail.
    const prefixes = ids.map((id) => `vb${id.slice(0, 10)}`);
    const veths = () => links().filter((l) => prefixes.some((p) => l.startsWith(p)));
    expect(veths()).toHaveLength(30);
    expect(dnatRules(ports)).toHaveLength(30);
    expect(listeners(ports)).toHaveLength(30);
    expect(processesNaming(ids).filter((c) => c.includes("conmon")).length).toBeGreaterThanOrEqual(30);

    // Before the crash: half of each group goes.
    ok(["stop", "-t", "0", ids[0]!, ids[1]!, ids[2]!]);
    ok(["stop", "-t", "0", ids[10]!, ids[11]!, ids[12]!, ids[13]!, ids[14]!]);
    ok(["rm", ids[10]!, ids[11]!, ids[12]!, ids[13]!, ids[14]!]);
    ok(["rm", "-f", ids[20]!, ids[21]!, ids[22]!, ids[23]!, ids[24]!]);
    await waitGone([ids[0]!, ids[1]!, ids[2]!]);
    // Two stopped (not yet removed) ones live through the crash.
    ok(["stop", "-t", "0", ids[15]!, ids[16]!]);

    const pids = [ids[4]!, ids[5]!].map((id) => Number(ok(["inspect", "-f", "{{.State.Pid}}", id]).trim()));
    await d.kill9();
    // Containers 4 and 5 (--rm) end while nobody watches; the rest keep running under conmon.
    for (const pid of pids) process.kill(pid, "SIGKILL");
    for (let i = 0; i < 50 && pids.some((p) => existsSync(`/proc/${p}`)); i++)
      await new Promise((r) => setTimeout(r, 100));
    await d.start();
    await waitGone([ids[4]!, ids[5]!]);

    ok(["stop", "-t", "0", ids[3]!, ids[6]!, ids[7]!, ids[8]!, ids[9]!]);
    ok(["stop", "-t", "0", ids[17]!, ids[18]!, ids[19]!]);
    ok(["rm", ids[15]!, ids[16]!, ids[17]!, ids[18]!, ids[19]!]);
    ok(["rm", "-f", ids[25]!, ids[26]!, ids[27]!, ids[28]!, ids[29]!]);
    await waitGone(ids);
    ok(["network", "rm", ...nets]);

    expect(veths()).toEqual([]);
    for (const b of bridges) {
      expect(links()).not.toContain(b);
      expect(rulesFor(b)).toEqual([]);
    }
    expect(dnatRules(ports)).toEqual([]);
    expect(listeners(ports)).toEqual([]);
    expect(processesNaming(ids)).toEqual([]);
    // By design only the image store's own mounts may stay (none for these containers): no
    // container root file system, no network namespace, no shm or secrets mount.
    const left = [...mountsUnder(`${d.dataRoot}/`), ...mountsUnder(`${d.execRoot}/`)];
    expect(left.filter((m) => ids.some((id) => m.includes(id.slice(0, 12))))).toEqual([]);
    expect(mountsUnder(`${d.execRoot}/n/`)).toEqual([]);
    expect(left).toEqual([]);
    // The daemon's default bridge stays, as docker0 does, and keeps only its own rules.
    expect(links()).toContain(d.bridge);
  });
});
