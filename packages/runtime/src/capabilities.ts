import { readFileSync } from "node:fs";
import { InvalidArgument } from "@berth/errdefs";

/**
 * ALL_CAPABILITIES lists every capability name by its bit number
 * (`ALL_CAPABILITIES[24] === "CAP_SYS_RESOURCE"`), up to CAP_CHECKPOINT_RESTORE (40).
 */
export const ALL_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
];

/**
 * DEFAULT_CAPABILITIES is Docker's default set for a non-privileged container,
 * in Docker's order (moby `caps.DefaultCapabilities`). As a CapEff mask this is
 * `0x00000000a80425fb`.
 */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

/** capabilitiesFromMask turns a hex mask as in `/proc/<pid>/status` (`CapBnd: 000001fffeffffff`) into names. */
export function capabilitiesFromMask(hex: string): string[] {
  const mask = BigInt(`0x${hex.trim()}`);
  return ALL_CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

/** capabilityMask is the inverse of {@link capabilitiesFromMask}: names to a 16-digit hex mask. */
export function capabilityMask(names: readonly string[]): string {
  let mask = 0n;
  for (const name of names) {
    const bit = ALL_CAPABILITIES.indexOf(name);
    if (bit >= 0) mask |= 1n << BigInt(bit);
  }
  return mask.toString(16).padStart(16, "0");
}

/**
 * hostCapabilities returns the capabilities this process can hand to a
 * container: its bounding set intersected with its effective set, read from
 * `/proc/self/status`. runc fails when asked for a capability its caller lacks
 * (on this machine root lacks CAP_SYS_RESOURCE), so `--privileged` and
 * `--cap-add ALL` grant only these.
 */
export function hostCapabilities(statusText?: string): string[] {
  const text = statusText ?? readFileSync("/proc/self/status", "utf8");
  const field = (name: string): string | undefined =>
    new RegExp(`^${name}:\\s*([0-9a-fA-F]+)$`, "m").exec(text)?.[1];
  const bnd = field("CapBnd");
  const eff = field("CapEff");
  if (bnd === undefined || eff === undefined) return [...ALL_CAPABILITIES];
  const effective = new Set(capabilitiesFromMask(eff));
  return capabilitiesFromMask(bnd).filter((c) => effective.has(c));
}

/**
 * normalizeCapability upper-cases a name and adds the `CAP_` prefix (docker
 * accepts `net_admin`); `ALL` stays `ALL`. Unknown names throw InvalidArgument
 * with docker's message `unknown capability: "CAP_FOO"`.
 */
export function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === "ALL") return "ALL";
  const full = upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
  if (!ALL_CAPABILITIES.includes(full))
    throw new InvalidArgument(`unknown capability: ${JSON.stringify(full)}`);
  return full;
}

/** TweakOptions are the inputs of {@link tweakCapabilities}. */
export interface TweakOptions {
  /** The starting set (docker: the 14 defaults). */
  readonly basics?: readonly string[];
  readonly capAdd?: readonly string[];
  readonly capDrop?: readonly string[];
  readonly privileged?: boolean;
  /** What the engine itself holds; `ALL` and `--privileged` mean "all of these". */
  readonly host: readonly string[];
}

/**
 * tweakCapabilities applies docker's `--cap-add`/`--cap-drop`/`--privileged`
 * rules (moby `caps.TweakCapabilities`): privileged gets everything; `ALL` in
 * capAdd means everything except capDrop; `ALL` in capDrop means only capAdd;
 * otherwise basics minus capDrop plus capAdd. "Everything" is the host's set,
 * and an explicitly added capability the host lacks is an InvalidArgument
 * (runc would fail later with a less helpful message).
 */
export function tweakCapabilities(opts: TweakOptions): string[] {
  const basics = opts.basics ?? DEFAULT_CAPABILITIES;
  if (opts.privileged) return [...opts.host];
  const adds = (opts.capAdd ?? []).map(normalizeCapability);
  const drops = (opts.capDrop ?? []).map(normalizeCapability);
  let caps: string[];
  if (adds.includes("ALL")) {
    caps = opts.host.filter((c) => !drops.includes(c));
  } else if (drops.includes("ALL")) {
    caps = [...adds];
  } else {
    caps = basics.filter((c) => !drops.includes(c) && opts.host.includes(c)).concat(adds);
  }
  const out: string[] = [];
  for (const c of caps) {
    if (c === "ALL" || out.includes(c)) continue;
    if (!opts.host.includes(c)) {
      throw new InvalidArgument(`capability ${c} was requested but the engine does not hold it`);
    }
    out.push(c);
  }
  return out;
}
