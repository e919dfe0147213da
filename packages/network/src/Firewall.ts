import { readFile, writeFile } from "node:fs/promises";
import { errnoCode } from "@berth/errdefs";
import { checkIfName } from "./bridge.ts";
import { networkAddress } from "./cidr.ts";
import { failure, run, runOk } from "./run.ts";

/** Chain every berth forward rule lives in; FORWARD jumps to it first. */
export const FORWARD_CHAIN = "BERTH-FORWARD";
/** Stage 1 of network isolation: traffic leaving a berth bridge for another interface. */
export const ISOLATION_1 = "BERTH-ISOLATION-1";
/** Stage 2 of network isolation: ...and entering another berth bridge is dropped. */
export const ISOLATION_2 = "BERTH-ISOLATION-2";
/** nat chain of published ports (DNAT to container addresses); PREROUTING and OUTPUT jump to it. */
export const DNAT_CHAIN = "BERTH-DNAT";
/** Comment on the shared jump rules (not tied to one bridge, never swept). */
export const SHARED_COMMENT = "berth";

/** commentFor is the comment every rule of one bridge carries: `berth:<bridge>`. */
export function commentFor(bridge: string): string {
  return `berth:${bridge}`;
}

/** splitRule tokenizes one line of `iptables -S` (double-quoted words allowed, with \" escapes). */
export function splitRule(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) {
    out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] ?? ""));
  }
  return out;
}

/** ruleBridge returns the bridge named by a rule's `--comment berth:<bridge>`, or undefined. */
export function ruleBridge(tokens: readonly string[]): string | undefined {
  const i = tokens.indexOf("--comment");
  const c = i >= 0 ? tokens[i + 1] : undefined;
  return c?.startsWith("berth:") ? c.slice("berth:".length) : undefined;
}

type Table = "filter" | "nat";

/**
 * Firewall keeps the iptables rules of berth's bridge networks, in the spirit of dockerd's:
 *
 * - nat POSTROUTING: `-s <subnet> ! -o <bridge> -j MASQUERADE` (not for internal networks);
 * - filter FORWARD jumps to BERTH-FORWARD, which first jumps to BERTH-ISOLATION-1, then accepts
 *   traffic on the bridge: replies into it, bridge to itself, and (not internal) out of it;
 * - isolation: BERTH-ISOLATION-1 sends what leaves a bridge for another interface to
 *   BERTH-ISOLATION-2, which drops it when it enters another berth bridge; an internal network
 *   also drops everything leaving its subnet or entering it from elsewhere.
 *
 * - published ports (publishPort): nat BERTH-DNAT, reached from PREROUTING and OUTPUT for local
 *   destinations, rewrites `[-d hostIp] -p proto --dport P` to the container's address, so the
 *   kernel forwards them (the in-process proxy stays bound to the port, as docker-proxy does, and
 *   serves what the rule does not match); connections from 127.0.0.0/8 are masqueraded onto the
 *   bridge, which has route_localnet on, and INPUT drops new connections entering from the bridge
 *   for 127.0.0.0/8 (so route_localnet cannot open the host's loopback services to containers).
 *
 * Every per-network rule carries `-m comment --comment berth:<bridge>`, so teardown and the startup
 * sweep find them by comment alone, whatever the subnet was. Everything is idempotent: rules are
 * checked (`-C`) before they are added, and deleting what is gone is success.
 */
export class Firewall {
  readonly #iptables: string;

  /** `iptables` names the binary (default "iptables": legacy or nft, whichever the host has). */
  constructor(o: { iptables?: string } = {}) {
    this.#iptables = o.iptables ?? "iptables";
  }

  async #ipt(table: Table, args: string[]): Promise<void> {
    await runOk(this.#iptables, ["-w", "-t", table, ...args]);
  }

  async #ensureChain(table: Table, chain: string): Promise<void> {
    const args = ["-w", "-t", table, "-N", chain];
    const r = await run(this.#iptables, args);
    if (r.code !== 0 && !/already exists/i.test(r.stderr)) throw failure(this.#iptables, args, r);
  }

  async #ensureRule(
    table: Table,
    chain: string,
    spec: readonly string[],
    where: "append" | "first" = "append",
  ): Promise<void> {
    const check = await run(this.#iptables, ["-w", "-t", table, "-C", chain, ...spec]);
    if (check.code === 0) return;
    await this.#ipt(table, where === "first" ? ["-I", chain, "1", ...spec] : ["-A", chain, ...spec]);
  }

  /** #rules lists a table's rules as tokens (`-A chain ...`), with `withChains` also `-N chain` lines. */
  async #rules(table: Table, withChains = false): Promise<string[][]> {
    const out = await runOk(this.#iptables, ["-w", "-t", table, "-S"]);
    return out
      .split("\n")
      .filter((l) => l.startsWith("-A ") || (withChains && l.startsWith("-N ")))
      .map(splitRule);
  }

  /**
   * Deletes every rule (in filter and nat) whose berth:<bridge> comment satisfies `doomed`: in one
   * `iptables-restore` batch, or rule by rule when the batch fails (a concurrent teardown deleted
   * one of them first: gone already is fine).
   */
  async #deleteWhere(doomed: (bridge: string) => boolean): Promise<void> {
    const listed = await this.#listAll();
    const gone: Array<{ table: Table; tokens: string[] }> = [];
    for (const table of ["filter", "nat"] as const) {
      for (const tokens of listed[table]) {
        const bridge = ruleBridge(tokens);
        if (tokens[0] === "-A" && bridge !== undefined && doomed(bridge)) gone.push({ table, tokens });
      }
    }
    const batch = gone.map((g) => ({
      table: g.table,
      line: ["-D", ...g.tokens.slice(1)].map(quoteToken).join(" "),
    }));
    if ((await this.#restore(batch)).code === 0) return;
    for (const g of gone) await this.#deleteRule(g.table, g.tokens);
  }

  async #ensureBase(): Promise<void> {
    await this.#ensureChain("filter", FORWARD_CHAIN);
    await this.#ensureChain("filter", ISOLATION_1);
    await this.#ensureChain("filter", ISOLATION_2);
    const shared = ["-m", "comment", "--comment", SHARED_COMMENT];
    await this.#ensureRule("filter", "FORWARD", [...shared, "-j", FORWARD_CHAIN], "first");
    await this.#ensureRule("filter", FORWARD_CHAIN, [...shared, "-j", ISOLATION_1], "first");
    await this.#ensureChain("nat", DNAT_CHAIN);
    const local = ["-m", "addrtype", "--dst-type", "LOCAL"];
    await this.#ensureRule("nat", "PREROUTING", [...local, ...shared, "-j", DNAT_CHAIN]);
    await this.#ensureRule("nat", "OUTPUT", [...local, ...shared, "-j", DNAT_CHAIN]);
  }

  /**
   * setupNetwork installs the rules of one bridge network (see the class comment) and turns on
   * net.ipv4.ip_forward. `internal`: no masquerade, nothing forwarded between the subnet and any
   * other interface.
   *
   * A new bridge's rules go in as one `iptables-restore --noflush` batch (one process and one
   * table commit instead of a check and an add per rule); when some of its rules exist already
   * (set up again after a crash) each rule is checked and added on its own, as before.
   */
  async setupNetwork(o: { bridge: string; subnet: string; internal?: boolean }): Promise<void> {
    checkIfName(o.bridge, "bridge name");
    const rules = networkRules(o.bridge, networkAddress(o.subnet), o.internal === true);
    await enableIpForward();
    let listed = await this.#listAll();
    if (!baseReady(listed)) {
      await this.#ensureBase();
      listed = await this.#listAll();
    }
    const mine = (t: Table) => listed[t].some((tokens) => ruleBridge(tokens) === o.bridge);
    const batched =
      !mine("filter") &&
      !mine("nat") &&
      (await this.#restore(rules.map((r) => ({ table: r.table, line: ruleLine(r) })))).code === 0;
    if (!batched) {
      for (const r of rules) await this.#ensureRule(r.table, r.chain, r.spec, r.first ? "first" : "append");
    }
    if (o.internal) return;
    try {
      await writeFile(`/proc/sys/net/ipv4/conf/${o.bridge}/route_localnet`, "1\n");
    } catch (err) {
      // Rules may be set up before their bridge exists (the setting comes with the device).
      if (errnoCode(err) !== "ENOENT") throw err;
    }
  }

  /** #listAll reads both tables' rules (`iptables -S`, chain definitions included) at once. */
  async #listAll(): Promise<Record<Table, string[][]>> {
    const [filter, nat] = await Promise.all([this.#rules("filter", true), this.#rules("nat", true)]);
    return { filter, nat };
  }

  /**
   * #restore applies rule lines (`-A`, `-I`, `-D` in iptables-save syntax) to their tables in one
   * `iptables-restore --noflush`: all or nothing (a table's lines commit together). Never declares
   * chains (a declared chain would be flushed).
   */
  async #restore(
    lines: ReadonlyArray<{ table: Table; line: string }>,
  ): Promise<{ code: number; stderr: string }> {
    if (lines.length === 0) return { code: 0, stderr: "" };
    let input = "";
    for (const table of ["filter", "nat"] as const) {
      const mine = lines.filter((l) => l.table === table);
      if (mine.length > 0) input += `*${table}\n${mine.map((l) => l.line).join("\n")}\nCOMMIT\n`;
    }
    return run(`${this.#iptables}-restore`, ["-w", "--noflush"], { input });
  }

  /**
   * publishPort makes the kernel forward `hostIp:hostPort` (any local address for 0.0.0.0) to
   * `targetIp:targetPort` on the bridge. Rules an earlier publication of the same host address and
   * port left behind (a crash between a container's exit and its cleanup) are replaced.
   */
  async publishPort(o: PublishedPort): Promise<void> {
    checkIfName(o.bridge, "bridge name");
    await this.#ensureBase();
    for (const tokens of await this.#rules("nat")) {
      if (tokens[1] !== DNAT_CHAIN || !sameHostPort(tokens, o)) continue;
      await this.#deleteRule("nat", tokens);
    }
    const [dnat, accept] = portRules(o);
    await this.#ensureRule("nat", DNAT_CHAIN, dnat);
    await this.#ensureRule("filter", FORWARD_CHAIN, accept);
  }

  /** unpublishPort removes what publishPort added; idempotent. */
  async unpublishPort(o: PublishedPort): Promise<void> {
    const [dnat, accept] = portRules(o);
    await this.#deleteRule("nat", ["-A", DNAT_CHAIN, ...dnat]);
    await this.#deleteRule("filter", ["-A", FORWARD_CHAIN, ...accept]);
  }

  async #deleteRule(table: Table, tokens: readonly string[]): Promise<void> {
    const args = ["-w", "-t", table, "-D", ...tokens.slice(1)];
    const r = await run(this.#iptables, args);
    if (r.code !== 0 && !/does a matching rule exist|No chain|doesn't exist|Bad rule/i.test(r.stderr)) {
      throw failure(this.#iptables, args, r);
    }
  }

  /** teardownNetwork removes every rule tagged berth:<bridge> (the subnet is not needed to find them); idempotent. */
  async teardownNetwork(o: { bridge: string; subnet: string }): Promise<void> {
    checkIfName(o.bridge, "bridge name");
    await this.#deleteWhere((b) => b === o.bridge);
  }

  /** sweep removes every berth:<bridge> rule whose bridge is not in `keep` (startup sweep after a crash). */
  async sweep(keep: string[]): Promise<void> {
    const kept = new Set(keep);
    await this.#deleteWhere((b) => !kept.has(b));
  }
}

/** One rule of a bridge network: its table and chain, its match and target, and where it goes. */
interface NetworkRule {
  readonly table: Table;
  readonly chain: string;
  readonly spec: readonly string[];
  /** Inserted first in its chain (else appended). */
  readonly first?: boolean;
}

/** networkRules are the rules {@link Firewall.setupNetwork} installs for one bridge, in order. */
function networkRules(br: string, subnet: string, internal: boolean): NetworkRule[] {
  const tag = ["-m", "comment", "--comment", commentFor(br)];
  const established = ["-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED"];
  const rules: NetworkRule[] = [
    { table: "filter", chain: ISOLATION_1, spec: ["-i", br, "!", "-o", br, ...tag, "-j", ISOLATION_2] },
    { table: "filter", chain: ISOLATION_2, spec: ["-o", br, ...tag, "-j", "DROP"] },
  ];
  if (internal) {
    rules.push(
      { table: "filter", chain: ISOLATION_1, spec: ["-i", br, "!", "-d", subnet, ...tag, "-j", "DROP"] },
      { table: "filter", chain: ISOLATION_1, spec: ["!", "-s", subnet, "-o", br, ...tag, "-j", "DROP"] },
    );
  }
  rules.push(
    { table: "filter", chain: FORWARD_CHAIN, spec: ["-o", br, ...established, ...tag, "-j", "ACCEPT"] },
    { table: "filter", chain: FORWARD_CHAIN, spec: ["-i", br, "-o", br, ...tag, "-j", "ACCEPT"] },
  );
  if (internal) return rules;
  rules.push(
    { table: "filter", chain: FORWARD_CHAIN, spec: ["-i", br, "!", "-o", br, ...tag, "-j", "ACCEPT"] },
    { table: "nat", chain: "POSTROUTING", spec: ["-s", subnet, "!", "-o", br, ...tag, "-j", "MASQUERADE"] },
    // Published ports reached on 127.0.0.1 are DNATed onto the bridge with their loopback source.
    // (Replies of those connections come back to 127.0.0.1 through the bridge: only new traffic is dropped.)
    {
      table: "filter",
      chain: "INPUT",
      spec: [
        "-i",
        br,
        "-d",
        "127.0.0.0/8",
        "-m",
        "conntrack",
        "!",
        "--ctstate",
        "RELATED,ESTABLISHED",
        ...tag,
        "-j",
        "DROP",
      ],
      first: true,
    },
    { table: "nat", chain: "POSTROUTING", spec: ["-s", "127.0.0.0/8", "-o", br, ...tag, "-j", "MASQUERADE"] },
  );
  return rules;
}

/** quoteToken quotes one rule word for iptables-restore when it has blanks or quotes. */
function quoteToken(t: string): string {
  return /^[^\s"']+$/.test(t) ? t : `"${t.replace(/["\\]/g, "\\$&")}"`;
}

/** ruleLine is a rule as an iptables-restore line (`-A chain ...` or `-I chain 1 ...`). */
function ruleLine(r: NetworkRule): string {
  return [...(r.first ? ["-I", r.chain, "1"] : ["-A", r.chain]), ...r.spec].map(quoteToken).join(" ");
}

/** baseReady tells whether the shared chains and jumps ({@link Firewall}'s #ensureBase) are all there. */
function baseReady(listed: Record<Table, string[][]>): boolean {
  const chain = (t: Table, c: string) => listed[t].some((x) => x[0] === "-N" && x[1] === c);
  const jump = (t: Table, from: string, to: string) =>
    listed[t].some(
      (x) =>
        x[0] === "-A" &&
        x[1] === from &&
        x[x.indexOf("-j") + 1] === to &&
        x[x.indexOf("--comment") + 1] === SHARED_COMMENT,
    );
  return (
    chain("filter", FORWARD_CHAIN) &&
    chain("filter", ISOLATION_1) &&
    chain("filter", ISOLATION_2) &&
    chain("nat", DNAT_CHAIN) &&
    jump("filter", "FORWARD", FORWARD_CHAIN) &&
    jump("filter", FORWARD_CHAIN, ISOLATION_1) &&
    jump("nat", "PREROUTING", DNAT_CHAIN) &&
    jump("nat", "OUTPUT", DNAT_CHAIN)
  );
}

/** One published port: where the host listens and which container address it goes to. */
export interface PublishedPort {
  bridge: string;
  proto: "tcp" | "udp";
  /** "0.0.0.0" (or "") for every local address. */
  hostIp: string;
  hostPort: number;
  targetIp: string;
  targetPort: number;
}

function anyAddress(ip: string): boolean {
  return ip === "" || ip === "0.0.0.0";
}

/** portRules are the nat DNAT and filter ACCEPT rule specs of one published port. */
function portRules(o: PublishedPort): [string[], string[]] {
  const tag = ["-m", "comment", "--comment", commentFor(o.bridge)];
  const match = (port: number) => ["-p", o.proto, "-m", o.proto, "--dport", String(port)];
  const dnat = [
    ...(anyAddress(o.hostIp) ? [] : ["-d", `${o.hostIp}/32`]),
    "!",
    "-i",
    o.bridge,
    ...match(o.hostPort),
    ...tag,
    "-j",
    "DNAT",
    "--to-destination",
    `${o.targetIp}:${o.targetPort}`,
  ];
  const accept = [
    "-d",
    `${o.targetIp}/32`,
    "!",
    "-i",
    o.bridge,
    "-o",
    o.bridge,
    ...match(o.targetPort),
    ...tag,
    "-j",
    "ACCEPT",
  ];
  return [dnat, accept];
}

/** sameHostPort tells whether an `iptables -S` DNAT rule publishes the same host address, protocol and port. */
function sameHostPort(tokens: readonly string[], o: PublishedPort): boolean {
  const after = (flag: string) => {
    const i = tokens.indexOf(flag);
    return i >= 0 ? tokens[i + 1] : undefined;
  };
  const d = after("-d");
  const host = anyAddress(o.hostIp) ? undefined : `${o.hostIp}/32`;
  return after("-p") === o.proto && after("--dport") === String(o.hostPort) && d === host;
}

const IP_FORWARD = "/proc/sys/net/ipv4/ip_forward";

/** enableIpForward sets net.ipv4.ip_forward=1 unless it is on already. */
export async function enableIpForward(): Promise<void> {
  const now = (await readFile(IP_FORWARD, "utf8")).trim();
  if (now !== "1") await writeFile(IP_FORWARD, "1\n");
}
