/**
 * ContainerRow: docker's ContainerContext, the per-row values `berth ps` prints and that
 * `--format` templates see (`.ID`, `.Image`, `.Command`, `.RunningFor`, `.Status`, `.Ports`,
 * `.Names`, `.Size`, `.Labels`, `.Label "k"`, ...), and the table header names.
 *
 * @since 0.1.0
 */
import type { ContainerSummary, PortSummary } from "@berth/api";
import { humanDuration, humanSizeWithPrecision } from "./units.ts";

/** DEFAULT_PS_FORMAT is docker's default container table. */
export const DEFAULT_PS_FORMAT =
  "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

/** PS_HEADER maps fields to column titles. */
export const PS_HEADER: Readonly<Record<string, string>> = {
  ID: "CONTAINER ID",
  Names: "NAMES",
  Image: "IMAGE",
  Command: "COMMAND",
  CreatedAt: "CREATED AT",
  RunningFor: "CREATED",
  Ports: "PORTS",
  State: "STATE",
  Status: "STATUS",
  Size: "SIZE",
  Labels: "LABELS",
  Mounts: "MOUNTS",
  LocalVolumes: "LOCAL VOLUMES",
  Networks: "NETWORKS",
  Platform: "PLATFORM",
};

/** truncateId is stringid.TruncateID: drop an `algo:` prefix, keep 12 characters. */
export function truncateId(id: string): string {
  const colon = id.indexOf(":");
  const hex = colon >= 0 ? id.slice(colon + 1) : id;
  return hex.length > 12 ? hex.slice(0, 12) : hex;
}

/** ellipsis is docker's formatter.Ellipsis for ASCII/narrow text. */
export function ellipsis(s: string, max: number): string {
  const rs = [...s];
  if (max <= 0) return "";
  if (max === 1) return rs[0] ?? "";
  if (rs.length <= max) return s;
  return `${rs.slice(0, max - 1).join("")}…`;
}

/** goQuote is strconv.Quote for printable text (escapes `"` and `\` and control bytes). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

/** goTimeString renders a unix time as Go's time.Time.String() in local time. */
export function goTimeString(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  const abs = Math.abs(off);
  let zone = "UTC";
  if (off !== 0) {
    zone =
      new Intl.DateTimeFormat("en-US", { timeZoneName: "short" })
        .formatToParts(d)
        .find((x) => x.type === "timeZoneName")?.value ?? "";
  }
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(
    d.getSeconds(),
  )} ${sign}${p(Math.floor(abs / 60))}${p(abs % 60)} ${zone}`;
}

function joinHostPort(ip: string, port: string): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** displayablePorts is docker's DisplayablePorts: `0.0.0.0:4000->80/tcp, [::]:4000->80/tcp`. */
export function displayablePorts(input: readonly PortSummary[]): string {
  const ports = [...input].sort((a, b) => {
    if (a.PrivatePort !== b.PrivatePort) return a.PrivatePort - b.PrivatePort;
    if ((a.IP ?? "") !== (b.IP ?? "")) return (a.IP ?? "") < (b.IP ?? "") ? -1 : 1;
    if ((a.PublicPort ?? 0) !== (b.PublicPort ?? 0)) return (a.PublicPort ?? 0) - (b.PublicPort ?? 0);
    return a.Type < b.Type ? -1 : a.Type > b.Type ? 1 : 0;
  });
  const groups = new Map<string, { first: number; last: number }>();
  const result: string[] = [];
  const hostMappings: string[] = [];
  const formGroup = (key: string, first: number, last: number): string => {
    const parts = key.split("/");
    let type = parts[0] as string;
    let ip = "";
    if (parts.length > 1) {
      ip = parts[0] as string;
      type = parts[1] as string;
    }
    let group = String(first);
    if (first !== last) group = `${group}-${last}`;
    if (ip !== "") group = `${joinHostPort(ip, group)}->${group}`;
    return `${group}/${type}`;
  };
  for (const port of ports) {
    const current = port.PrivatePort;
    let key: string = port.Type;
    if (port.IP) {
      if (port.PublicPort !== current) {
        hostMappings.push(
          `${joinHostPort(port.IP, String(port.PublicPort ?? 0))}->${port.PrivatePort}/${port.Type}`,
        );
        continue;
      }
      key = `${port.IP}/${port.Type}`;
    }
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { first: current, last: current });
      continue;
    }
    if (current === g.last + 1) {
      g.last = current;
      continue;
    }
    result.push(formGroup(key, g.first, g.last));
    // docker replaces the group but keeps the key's original position
    groups.set(key, { first: current, last: current });
  }
  for (const [key, g] of groups) result.push(formGroup(key, g.first, g.last));
  result.push(...hostMappings);
  return result.join(", ");
}

function familiarImage(image: string): string {
  // strip a digest, then docker.io/library/ and docker.io/ prefixes
  let ref = image;
  const at = ref.indexOf("@");
  if (at >= 0) ref = ref.slice(0, at);
  if (ref.startsWith("docker.io/library/")) ref = ref.slice("docker.io/library/".length);
  else if (ref.startsWith("docker.io/")) ref = ref.slice("docker.io/".length);
  return ref;
}

/** containerContext builds the template context of one `ps` row. */
export function containerContext(c: ContainerSummary, trunc: boolean, nowMs: number = Date.now()) {
  const id = c.Id ?? "";
  const labels = c.Labels ?? {};
  return {
    Command: () => goQuote(trunc ? ellipsis(c.Command ?? "", 20) : (c.Command ?? "")),
    CreatedAt: () => goTimeString(c.Created ?? 0),
    ID: () => (trunc ? truncateId(id) : id),
    Image: () => {
      const image = c.Image ?? "";
      if (image === "") return "<no image>";
      if (trunc) {
        const t = truncateId(c.ImageID ?? "");
        if (t === truncateId(image)) return t;
        return familiarImage(image);
      }
      return image;
    },
    Labels: () =>
      Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .sort()
        .join(","),
    Label: (name: unknown) => labels[String(name)] ?? "",
    LocalVolumes: () => String((c.Mounts ?? []).filter((m) => m.Driver === "local").length),
    Mounts: () =>
      (c.Mounts ?? [])
        .map((m) => {
          const n = m.Name ? m.Name : (m.Source ?? "");
          return trunc ? ellipsis(n, 15) : n;
        })
        .join(","),
    Names: () => {
      let names = (c.Names ?? []).map((n) => n.slice(1));
      if (trunc) {
        const first = names.find((n) => !n.includes("/"));
        if (first !== undefined) names = [first];
      }
      return names.join(",");
    },
    Networks: () => Object.keys(c.NetworkSettings?.Networks ?? {}).join(","),
    Platform: () => "",
    Ports: () => displayablePorts(c.Ports ?? []),
    RunningFor: () => `${humanDuration(nowMs - (c.Created ?? 0) * 1000)} ago`,
    Size: () => {
      const srw = humanSizeWithPrecision(c.SizeRw ?? 0, 3);
      const rootfs = c.SizeRootFs ?? 0;
      return rootfs > 0 ? `${srw} (virtual ${humanSizeWithPrecision(rootfs, 3)})` : srw;
    },
    State: () => c.State ?? "",
    Status: () => c.Status ?? "",
  };
}
