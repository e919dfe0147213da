/**
 * Platforms (`linux/amd64`, `linux/arm64/v8`, `linux/arm/v7`): the OCI `platform` object,
 * parsing and formatting of docker's `--platform` strings, normalisation, and matching with
 * containerd's rules (`platforms.Normalize`, `platforms.Only`), which docker uses to pick an
 * image out of an index.
 *
 * @since 0.1.0
 */
import { InvalidArgument } from "@berth/errdefs";

/** Platform is the OCI image-spec platform object (JSON field names as in the spec). */
export interface Platform {
  /** CPU architecture in GOARCH terms: `amd64`, `arm64`, `arm`, `386`, `ppc64le`, `s390x`, `riscv64`. */
  architecture: string;
  /** Operating system in GOOS terms: `linux`, `windows`. */
  os: string;
  /** Operating system version, e.g. `10.0.14393.1066` on Windows. */
  "os.version"?: string;
  /** Required OS features, e.g. `win32k`. */
  "os.features"?: string[];
  /** CPU variant: `v7` for arm, `v8` for arm64, `v2`/`v3` for amd64. */
  variant?: string;
  /** Reserved by the image-spec. */
  features?: string[];
}

/** Map Node's `process.arch` to GOARCH. */
const NODE_ARCH: Readonly<Record<string, string>> = {
  x64: "amd64",
  ia32: "386",
  arm64: "arm64",
  arm: "arm",
  ppc64: "ppc64le",
  s390x: "s390x",
  riscv64: "riscv64",
  loong64: "loong64",
  mips: "mips",
  mipsel: "mipsle",
  mips64el: "mips64le",
};

/** Map Node's `process.platform` to GOOS. */
const NODE_OS: Readonly<Record<string, string>> = {
  linux: "linux",
  win32: "windows",
  darwin: "darwin",
  freebsd: "freebsd",
  openbsd: "openbsd",
  sunos: "solaris",
  aix: "aix",
};

/**
 * currentPlatform describes the machine Berth runs on, as containerd's `DefaultSpec` does:
 * `{os: "linux", architecture: "amd64"}` on x86-64, `{..., architecture: "arm64", variant: "v8"}`
 * on 64-bit ARM, `arm` with `v7` (or the variant Node was built for) on 32-bit ARM.
 */
export function currentPlatform(): Platform {
  const os = NODE_OS[process.platform] ?? process.platform;
  const architecture = NODE_ARCH[process.arch] ?? process.arch;
  const p: Platform = { os, architecture };
  if (architecture === "arm64") p.variant = "v8";
  if (architecture === "arm") {
    const v = (process.config.variables as Record<string, unknown>).arm_version;
    p.variant = typeof v === "string" || typeof v === "number" ? `v${v}` : "v7";
  }
  return p;
}

/** normalizeArch maps aliases (`x86_64`, `aarch64`, `armhf`...) and default variants (containerd rules). */
export function normalizeArch(arch: string, variant: string): { architecture: string; variant: string } {
  let a = arch.toLowerCase();
  let v = variant.toLowerCase();
  switch (a) {
    case "i386":
      a = "386";
      v = "";
      break;
    case "x86_64":
    case "x86-64":
    case "amd64":
      a = "amd64";
      if (v === "v1") v = "";
      break;
    case "aarch64":
    case "arm64":
      a = "arm64";
      if (v === "8" || v === "v8" || v === "v8.0") v = "";
      else if (v === "9" || v === "9.0" || v === "v9.0") v = "v9";
      break;
    case "armhf":
      a = "arm";
      v = "v7";
      break;
    case "armel":
      a = "arm";
      v = "v6";
      break;
    case "arm":
      if (v === "" || v === "7") v = "v7";
      else if (v === "5" || v === "6" || v === "8") v = `v${v}`;
      break;
  }
  return { architecture: a, variant: v };
}

/**
 * normalizePlatform returns `p` in canonical form: lower-case OS (`macos` -> `darwin`, empty ->
 * `linux`), canonical architecture and variant (arm64 `v8` becomes no variant, arm defaults to
 * `v7`, amd64 `v1` becomes no variant), sorted unique `os.features`. Empty variants are omitted.
 */
export function normalizePlatform(p: Platform): Platform {
  let os = (p.os || "linux").toLowerCase();
  if (os === "macos") os = "darwin";
  const { architecture, variant } = normalizeArch(p.architecture, p.variant ?? "");
  const out: Platform = { os, architecture };
  if (p["os.version"] !== undefined && p["os.version"] !== "") out["os.version"] = p["os.version"];
  if (p["os.features"] !== undefined && p["os.features"].length > 0) {
    out["os.features"] = [...new Set(p["os.features"])].sort();
  }
  if (variant !== "") out.variant = variant;
  return out;
}

const KNOWN_OS = new Set([
  "aix",
  "android",
  "darwin",
  "dragonfly",
  "freebsd",
  "hurd",
  "illumos",
  "ios",
  "js",
  "linux",
  "nacl",
  "netbsd",
  "openbsd",
  "plan9",
  "solaris",
  "windows",
  "zos",
]);
const KNOWN_ARCH = new Set([
  "386",
  "amd64",
  "amd64p32",
  "arm",
  "armbe",
  "arm64",
  "arm64be",
  "ppc64",
  "ppc64le",
  "loong64",
  "mips",
  "mipsle",
  "mips64",
  "mips64le",
  "mips64p32",
  "mips64p32le",
  "ppc",
  "riscv",
  "riscv64",
  "s390",
  "s390x",
  "sparc",
  "sparc64",
  "wasm",
]);

const SPECIFIER = /^[A-Za-z0-9_.-]+$/;

/**
 * parsePlatform parses docker's `--platform` syntax like containerd's `platforms.Parse`:
 * `os`, `arch`, `os/arch`, `os/arch/variant` (`linux`, `arm64`, `linux/amd64`,
 * `linux/arm64/v8`, `linux/arm/v7`). A lone OS takes this machine's architecture; a lone
 * architecture takes this machine's OS. Throws InvalidArgument for anything else.
 */
export function parsePlatform(specifier: string): Platform {
  if (specifier.includes("*")) {
    throw new InvalidArgument(`invalid platform ${JSON.stringify(specifier)}: wildcards not yet supported`);
  }
  const parts = specifier.split("/");
  if (parts.length > 3 || parts.some((part) => !SPECIFIER.test(part))) {
    throw new InvalidArgument(
      `invalid platform ${JSON.stringify(specifier)}: expected os[/arch[/variant]] with components matching ${SPECIFIER.source}`,
    );
  }
  const here = currentPlatform();
  const first = parts[0]!;
  let os = first.toLowerCase();
  if (os === "macos") os = "darwin";
  if (parts.length === 1) {
    if (KNOWN_OS.has(os)) {
      const p: Platform = { os, architecture: here.architecture };
      if (here.architecture === "arm" && here.variant !== undefined && here.variant !== "v7")
        p.variant = here.variant;
      return p;
    }
    const { architecture, variant } = normalizeArch(first, "");
    if (KNOWN_ARCH.has(architecture)) {
      const p: Platform = { os: here.os, architecture };
      if (variant !== "" && !(architecture === "arm" && variant === "v7")) p.variant = variant;
      return p;
    }
    throw new InvalidArgument(
      `invalid platform ${JSON.stringify(specifier)}: unknown operating system or architecture`,
    );
  }
  if (parts.length === 2) {
    const { architecture, variant } = normalizeArch(parts[1]!, "");
    const p: Platform = { os, architecture };
    if (variant !== "" && !(architecture === "arm" && variant === "v7")) p.variant = variant;
    return p;
  }
  const { architecture, variant } = normalizeArch(parts[1]!, parts[2]!);
  const p: Platform = { os, architecture };
  if (variant !== "") p.variant = variant;
  else if (architecture === "arm64") p.variant = "v8";
  return p;
}

/** formatPlatform renders `os/arch[/variant]` (containerd's `Format`); `unknown` when there is no OS. */
export function formatPlatform(p: Platform): string {
  if (!p.os) return "unknown";
  return [p.os, p.architecture, p.variant].filter((x) => x !== undefined && x !== "").join("/");
}

/** platformEquals tells whether two platforms are the same after normalisation (containerd's `NewMatcher`). */
export function platformEquals(a: Platform, b: Platform): boolean {
  const x = normalizePlatform(a);
  const y = normalizePlatform(b);
  return x.os === y.os && x.architecture === y.architecture && (x.variant ?? "") === (y.variant ?? "");
}

const ARM64_VERSIONS: Readonly<Record<string, { major: number[]; minor: number[] }>> = {
  v8: { major: [8], minor: [0] },
  "v8.0": { major: [8], minor: [0] },
  "v8.1": { major: [8], minor: [1] },
  "v8.2": { major: [8], minor: [2] },
  "v8.3": { major: [8], minor: [3] },
  "v8.4": { major: [8], minor: [4] },
  "v8.5": { major: [8], minor: [5] },
  "v8.6": { major: [8], minor: [6] },
  "v8.7": { major: [8], minor: [7] },
  "v8.8": { major: [8], minor: [8] },
  "v8.9": { major: [8], minor: [9] },
  v9: { major: [9, 8], minor: [0, 5] },
  "v9.0": { major: [9, 8], minor: [0, 5] },
  "v9.1": { major: [9, 8], minor: [1, 6] },
  "v9.2": { major: [9, 8], minor: [2, 7] },
  "v9.3": { major: [9, 8], minor: [3, 8] },
  "v9.4": { major: [9, 8], minor: [4, 9] },
  "v9.5": { major: [9, 8], minor: [5, 9] },
  "v9.6": { major: [9, 8], minor: [6, 9] },
  "v9.7": { major: [9, 8], minor: [7, 9] },
};

function withVariant(base: Platform, architecture: string, variant: string): Platform {
  const p: Platform = { os: base.os, architecture };
  if (variant !== "") p.variant = variant;
  return p;
}

function vector(p: Platform): Platform[] {
  const v = p.variant ?? "";
  switch (p.architecture) {
    case "amd64": {
      const out = [p];
      const n = Number.parseInt(v.replace(/^v/, ""), 10);
      if (/^v?[0-9]+$/.test(v) && n > 1) {
        for (let i = n - 1; i >= 1; i--) out.push(withVariant(p, "amd64", `v${i}`));
      }
      out.push(withVariant(p, "386", ""));
      return out;
    }
    case "arm": {
      const out = [p];
      const n = Number.parseInt(v.replace(/^v/, ""), 10);
      if (/^v?[0-9]+$/.test(v) && n > 5) {
        for (let i = n - 1; i >= 5; i--) out.push(withVariant(p, "arm", `v${i}`));
      }
      return out;
    }
    case "arm64": {
      let variant = v === "" ? "v8" : v;
      const versions = ARM64_VERSIONS[variant];
      const out: Platform[] = [];
      if (versions === undefined) return out;
      versions.major.forEach((major, i) => {
        for (let minor = versions.minor[i]!; minor >= 0; minor--) {
          out.push(withVariant(p, "arm64", minor === 0 ? `v${major}` : `v${major}.${minor}`));
        }
      });
      if (variant.startsWith("v8") || variant.startsWith("v9")) variant = "v8";
      return out.concat(vector(withVariant(p, "arm", variant)));
    }
    default:
      return [p];
  }
}

/**
 * platformVector lists, best first, the platforms a machine of platform `want` can run
 * (containerd's `platformVector`): `linux/amd64/v3` runs v3, v2, v1 and 386; `linux/arm64`
 * runs arm64 v8 and arm v8..v5; `linux/arm/v7` runs v7, v6, v5.
 */
export function platformVector(want: Platform): Platform[] {
  return vector(normalizePlatform(want));
}

/**
 * platformMatches tells whether an image for `have` can run where `want` is asked for,
 * with containerd's `platforms.Only(want)` rules (the ones docker pull uses): OS must be equal;
 * architecture and variant must match after normalisation (arm64 `v8` == no variant, amd64
 * `v1` == no variant), or be an older variant of the same family, or 386 for amd64.
 */
export function platformMatches(want: Platform, have: Platform): boolean {
  return platformRank(want, have) >= 0;
}

/**
 * platformRank returns where `have` falls in `want`'s preference order (0 is an exact match,
 * larger is a worse fallback), or -1 when it does not match at all.
 */
export function platformRank(want: Platform, have: Platform): number {
  return platformVector(want).findIndex((candidate) => platformEquals(candidate, have));
}

/**
 * bestPlatformMatch returns the index in `candidates` that best matches `want` (ties keep the
 * first), or -1. Use it to pick a manifest out of an image index.
 */
export function bestPlatformMatch(want: Platform, candidates: readonly Platform[]): number {
  let best = -1;
  let bestRank = Number.POSITIVE_INFINITY;
  candidates.forEach((c, i) => {
    const r = platformRank(want, c);
    if (r >= 0 && r < bestRank) {
      best = i;
      bestRank = r;
    }
  });
  return best;
}
