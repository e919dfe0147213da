/**
 * RunConfig: the flags of `berth run`/`berth create` and the translation of parsed flags into the
 * exact `POST /containers/create` body docker v28 sends (field order and nulls included, see
 * engine-api-traces/02-run-rm-echo.txt), plus the `name` and `platform` query values.
 *
 * @since 0.1.0
 */
import { zeroHostConfig } from "@berth/api";
import { expandEnvFlag, readEnvFile } from "./EnvFile.ts";
import { bool, type FlagSpec, int, list, type ParsedArgs, str } from "./FlagParser.ts";
import { HEALTH_FLAGS, healthcheckFromFlags } from "./HealthFlags.ts";
import { parseMountFlag, parseTmpfsFlag } from "./MountFlag.ts";
import { parseNanoCpus, ramInBytes } from "./units.ts";

/** RUN_FLAGS are the flags `run` accepts (`create` uses the same minus the run-only ones). */
export const CREATE_FLAGS: readonly FlagSpec[] = [
  { name: "attach", short: "a", type: "list", usage: "Attach to STDIN, STDOUT or STDERR" },
  { name: "cap-add", type: "list", usage: "Add Linux capabilities" },
  { name: "cap-drop", type: "list", usage: "Drop Linux capabilities" },
  {
    name: "cpus",
    type: "string",
    valueName: "decimal",
    usage: "Number of CPUs",
    validate: (v) => void parseNanoCpus(v),
  },
  { name: "entrypoint", type: "string", usage: "Overwrite the default ENTRYPOINT of the image" },
  { name: "env", short: "e", type: "list", usage: "Set environment variables" },
  { name: "env-file", type: "list", usage: "Read in a file of environment variables" },
  { name: "expose", type: "list", usage: "Expose a port or a range of ports" },
  ...HEALTH_FLAGS,
  { name: "hostname", short: "h", type: "string", usage: "Container host name" },
  {
    name: "init",
    type: "bool",
    usage: "Run an init inside the container that forwards signals and reaps processes",
  },
  { name: "interactive", short: "i", type: "bool", usage: "Keep STDIN open even if not attached" },
  { name: "label", short: "l", type: "list", usage: "Set meta data on a container" },
  {
    name: "memory",
    short: "m",
    type: "string",
    valueName: "bytes",
    usage: "Memory limit",
    validate: (v) => void ramInBytes(v),
  },
  { name: "mount", type: "list", valueName: "mount", usage: "Attach a filesystem mount to the container" },
  { name: "name", type: "string", usage: "Assign a name to the container" },
  { name: "network", type: "string", valueName: "network", usage: "Connect a container to a network" },
  { name: "network-alias", type: "list", usage: "Add network-scoped alias for the container" },
  { name: "ip", type: "string", usage: 'IPv4 address (e.g., "172.30.100.104")' },
  { name: "publish-all", short: "P", type: "bool", usage: "Publish all exposed ports to random ports" },
  { name: "dns", type: "list", usage: "Set custom DNS servers" },
  { name: "dns-search", type: "list", usage: "Set custom DNS search domains" },
  { name: "dns-option", type: "list", usage: "Set DNS options" },
  { name: "add-host", type: "list", usage: "Add a custom host-to-IP mapping (host:ip)" },
  { name: "net", type: "string", usage: "Connect a container to a network", hidden: true },
  { name: "pids-limit", type: "int", usage: "Tune container pids limit (set -1 for unlimited)" },
  { name: "platform", type: "string", usage: "Set platform if server is multi-platform capable" },
  { name: "privileged", type: "bool", usage: "Give extended privileges to this container" },
  { name: "publish", short: "p", type: "list", usage: "Publish a container's port(s) to the host" },
  { name: "read-only", type: "bool", usage: "Mount the container's root filesystem as read only" },
  {
    name: "restart",
    type: "string",
    usage: "Restart policy to apply when a container exits",
    defaultText: '"no"',
  },
  {
    name: "rm",
    type: "bool",
    usage: "Automatically remove the container and its associated anonymous volumes when it exits",
  },
  { name: "stop-signal", type: "string", usage: "Signal to stop the container" },
  { name: "stop-timeout", type: "int", usage: "Timeout (in seconds) to stop a container" },
  { name: "tmpfs", type: "list", usage: "Mount a tmpfs directory" },
  { name: "tty", short: "t", type: "bool", usage: "Allocate a pseudo-TTY" },
  { name: "user", short: "u", type: "string", usage: "Username or UID (format: <name|uid>[:<group|gid>])" },
  { name: "volume", short: "v", type: "list", usage: "Bind mount a volume" },
  { name: "workdir", short: "w", type: "string", usage: "Working directory inside the container" },
  {
    name: "pull",
    type: "string",
    usage: 'Pull image before running ("always", "missing", "never")',
    defaultText: '"missing"',
  },
  { name: "quiet", short: "q", type: "bool", usage: "Suppress the pull output" },
];

/** RUN_FLAGS adds `-d`, `--detach-keys` and `--sig-proxy` to the create flags. */
export const RUN_FLAGS: readonly FlagSpec[] = [
  ...CREATE_FLAGS,
  { name: "detach", short: "d", type: "bool", usage: "Run container in background and print container ID" },
  { name: "detach-keys", type: "string", usage: "Override the key sequence for detaching a container" },
  { name: "sig-proxy", type: "bool", usage: "Proxy received signals to the process", defaultText: "true" },
];

/** RunContext is what the body depends on besides the flags. */
export interface RunContext {
  /** Terminal size `[rows, cols]` when `-t` and stdout is a terminal, else `[0, 0]`. */
  readonly consoleSize: readonly [number, number];
  readonly env?: NodeJS.ProcessEnv;
}

/** CreateRequest is the create body (docker's field order) plus the query values. */
export interface CreateRequest {
  readonly body: Record<string, unknown>;
  readonly name: string | undefined;
  readonly platform: string | undefined;
  readonly image: string;
  readonly attachStdin: boolean;
  readonly attachStdout: boolean;
  readonly attachStderr: boolean;
  readonly tty: boolean;
  readonly autoRemove: boolean;
}

/** parseRestartPolicy parses `no`, `always`, `unless-stopped`, `on-failure[:N]` as docker does. */
export function parseRestartPolicy(value: string): { Name: string; MaximumRetryCount: number } {
  if (value === "") return { Name: "no", MaximumRetryCount: 0 };
  const [name, count, ...extra] = value.split(":");
  if (extra.length > 0) throw new Error(`invalid restart policy format: ${value}`);
  if (count === undefined) return { Name: name as string, MaximumRetryCount: 0 };
  if (!/^-?\d+$/.test(count))
    throw new Error("invalid restart policy format: maximum retry count must be an integer");
  return { Name: name as string, MaximumRetryCount: Number(count) };
}

function parseLabels(values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf("=");
    if (eq < 0) labels[v] = "";
    else labels[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return labels;
}

/**
 * parsePort reads one `-p [IP:][HOST:]CONTAINER[/PROTO]` as docker's nat.ParsePortSpec: a
 * container range with an equal host range maps port to port; a single container port with a host
 * range lets the daemon pick a free port of the range.
 */
function parsePort(spec: string): Array<{
  port: string;
  binding: { HostIp: string; HostPort: string } | undefined;
}> {
  let rest = spec;
  let proto = "tcp";
  const slash = rest.lastIndexOf("/");
  if (slash >= 0) {
    proto = rest.slice(slash + 1) || "tcp";
    rest = rest.slice(0, slash);
  }
  let hostIp = "";
  let hostPort = "";
  let containerPort = rest;
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(rest);
  if (v6) {
    hostIp = v6[1] as string;
    rest = v6[2] as string;
    const parts = rest.split(":");
    hostPort = parts[0] ?? "";
    containerPort = parts[1] ?? "";
  } else {
    const parts = rest.split(":");
    if (parts.length === 3) [hostIp, hostPort, containerPort] = parts as [string, string, string];
    else if (parts.length === 2) [hostPort, containerPort] = parts as [string, string];
    else if (parts.length > 3) throw new Error(`invalid proto: ${spec}`);
  }
  if (!/^\d+(-\d+)?$/.test(containerPort)) throw new Error(`invalid containerPort: ${containerPort}`);
  if (hostPort !== "" && !/^\d+(-\d+)?$/.test(hostPort)) throw new Error(`invalid hostPort: ${hostPort}`);
  if (!["tcp", "udp", "sctp"].includes(proto.toLowerCase())) throw new Error(`invalid proto: ${proto}`);
  const published = spec.includes(":");
  const range = (r: string): [number, number] => {
    const [a, b] = r.split("-");
    const lo = Number(a);
    const hi = b === undefined ? lo : Number(b);
    if (lo < 1 || hi > 65535 || hi < lo) throw new Error(`invalid port range: ${r}`);
    return [lo, hi];
  };
  const [clo, chi] = range(containerPort);
  const hostRange = hostPort === "" ? undefined : range(hostPort);
  if (hostRange && chi > clo && hostRange[1] - hostRange[0] !== chi - clo)
    throw new Error(
      `invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`,
    );
  const out = [];
  for (let c = clo; c <= chi; c++) {
    let hp = hostPort;
    if (hostRange && chi > clo) hp = String(hostRange[0] + (c - clo));
    out.push({
      port: `${c}/${proto.toLowerCase()}`,
      binding: published ? { HostIp: hostIp, HostPort: hp } : undefined,
    });
  }
  return out;
}

/**
 * buildCreateRequest turns parsed `run`/`create` flags (`args[0]` is the image, the rest the
 * command) into the request docker sends. Throws Error with docker's message on a bad value.
 */
export function buildCreateRequest(p: ParsedArgs, ctx: RunContext, detach: boolean): CreateRequest {
  const env = ctx.env ?? process.env;
  const [image, ...cmd] = p.args as [string, ...string[]];

  const attach = list(p, "attach").map((s) => s.toLowerCase());
  for (const a of attach) {
    if (a !== "stdin" && a !== "stdout" && a !== "stderr") {
      throw new Error("valid streams are STDIN, STDOUT and STDERR");
    }
  }
  const interactive = bool(p, "interactive");
  const tty = bool(p, "tty");
  let attachStdin = attach.includes("stdin") || interactive;
  let attachStdout = attach.length === 0 || attach.includes("stdout");
  let attachStderr = attach.length === 0 || attach.includes("stderr");
  if (detach) {
    if (attach.length > 0) throw new Error("conflicting options: cannot specify both --attach and --detach");
    attachStdin = attachStdout = attachStderr = false;
  }

  const envList: string[] = [];
  for (const f of list(p, "env-file")) envList.push(...readEnvFile(f, env));
  for (const e of list(p, "env")) envList.push(expandEnvFlag(e, env));

  let entrypoint: string[] | null = null;
  const ep = str(p, "entrypoint");
  if (ep !== undefined) entrypoint = ep === "" ? [""] : [ep];

  const exposed: Record<string, Record<string, never>> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const spec of list(p, "publish")) {
    for (const { port, binding } of parsePort(spec)) {
      exposed[port] = {};
      if (binding) bindings[port] = [...(bindings[port] ?? []), binding];
    }
  }
  for (const e of list(p, "expose")) exposed[e.includes("/") ? e : `${e}/tcp`] = {};

  const binds: string[] = [];
  const volumes: Record<string, Record<string, never>> = {};
  for (const v of list(p, "volume")) {
    if (v.includes(":")) binds.push(v);
    else volumes[v] = {};
  }

  const mounts = list(p, "mount").map(parseMountFlag);
  const tmpfs: Record<string, string> = {};
  for (const t of list(p, "tmpfs")) {
    const [path, opts] = parseTmpfsFlag(t);
    tmpfs[path] = opts;
  }

  const memory = str(p, "memory");
  const cpus = str(p, "cpus");
  const restart = parseRestartPolicy(str(p, "restart") ?? "no");
  const autoRemove = bool(p, "rm");
  const network = str(p, "network") ?? str(p, "net") ?? "default";
  const capAdd = list(p, "cap-add");
  const capDrop = list(p, "cap-drop");
  const stopSignal = str(p, "stop-signal");
  const stopTimeout = int(p, "stop-timeout");
  const healthcheck = healthcheckFromFlags(p);

  const config: Record<string, unknown> = {
    Hostname: str(p, "hostname") ?? "",
    Domainname: "",
    User: str(p, "user") ?? "",
    AttachStdin: attachStdin,
    AttachStdout: attachStdout,
    AttachStderr: attachStderr,
  };
  if (Object.keys(exposed).length > 0) config.ExposedPorts = exposed;
  Object.assign(config, {
    Tty: tty,
    OpenStdin: interactive,
    StdinOnce: interactive && attachStdin,
    Env: envList.length > 0 ? envList : null,
    Cmd: cmd.length > 0 ? cmd : null,
    ...(healthcheck ? { Healthcheck: healthcheck } : {}),
    Image: image,
    Volumes: volumes,
    WorkingDir: str(p, "workdir") ?? "",
    Entrypoint: entrypoint,
    OnBuild: null,
    Labels: parseLabels(list(p, "label")),
  });
  if (stopSignal !== undefined) config.StopSignal = stopSignal;
  if (stopTimeout !== undefined) config.StopTimeout = stopTimeout;

  // Docker's zero HostConfig overlaid with what the flags say; the CLI sends -1 and 0 where the
  // zero swappiness and pids limit are null.
  const hostConfig: Record<string, unknown> = {
    ...zeroHostConfig(),
    Binds: binds.length > 0 ? binds : null,
    NetworkMode: network,
    PortBindings: bindings,
    RestartPolicy: restart,
    AutoRemove: autoRemove,
    ConsoleSize: tty ? [...ctx.consoleSize] : [0, 0],
    CapAdd: capAdd.length > 0 ? capAdd : null,
    CapDrop: capDrop.length > 0 ? capDrop : null,
    Privileged: bool(p, "privileged"),
    ReadonlyRootfs: bool(p, "read-only"),
    Memory: memory === undefined ? 0 : ramInBytes(memory),
    NanoCpus: cpus === undefined ? 0 : parseNanoCpus(cpus),
    MemorySwappiness: -1,
    PidsLimit: int(p, "pids-limit") ?? 0,
  };
  if (bool(p, "init")) hostConfig.Init = true;
  if (bool(p, "publish-all")) hostConfig.PublishAllPorts = true;
  hostConfig.Dns = list(p, "dns");
  hostConfig.DnsSearch = list(p, "dns-search");
  hostConfig.DnsOptions = list(p, "dns-option");
  const addHosts = list(p, "add-host");
  if (addHosts.length > 0) hostConfig.ExtraHosts = addHosts.map((h) => h.replace("=", ":"));
  const aliases = list(p, "network-alias");
  const ip = str(p, "ip");
  if (mounts.length > 0) hostConfig.Mounts = mounts;
  if (Object.keys(tmpfs).length > 0) hostConfig.Tmpfs = tmpfs;

  const body = {
    ...config,
    HostConfig: hostConfig,
    NetworkingConfig: {
      EndpointsConfig: {
        [network]: {
          IPAMConfig: ip ? { IPv4Address: ip } : null,
          Links: null,
          Aliases: aliases.length > 0 ? aliases : null,
          MacAddress: "",
          DriverOpts: null,
          GwPriority: 0,
          NetworkID: "",
          EndpointID: "",
          Gateway: "",
          IPAddress: "",
          IPPrefixLen: 0,
          IPv6Gateway: "",
          GlobalIPv6Address: "",
          GlobalIPv6PrefixLen: 0,
          DNSNames: null,
        },
      },
    },
  };
  return {
    body,
    name: str(p, "name"),
    platform: str(p, "platform"),
    image,
    attachStdin,
    attachStdout,
    attachStderr,
    tty,
    autoRemove,
  };
}
