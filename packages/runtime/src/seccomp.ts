import { InvalidArgument } from "@berth/errdefs";
import { RuntimeSpec } from "@berth/oci";
import defaultProfileJson from "./profiles/seccomp-default.json" with { type: "json" };

/** SeccompFilter is docker's `includes`/`excludes` condition of a profile rule. */
export interface SeccompFilter {
  caps?: string[] | null;
  arches?: string[] | null;
  minKernel?: string | null;
}

/** SeccompRule is one `syscalls[]` entry of a docker seccomp profile (old `name` or new `names` form). */
export interface SeccompRule {
  name?: string;
  names?: string[] | null;
  action: string;
  errnoRet?: number | null;
  args?: RuntimeSpec.LinuxSeccompArg[] | null;
  comment?: string;
  includes?: SeccompFilter | null;
  excludes?: SeccompFilter | null;
}

/**
 * SeccompProfile is docker's profile format (`docker run --security-opt
 * seccomp=profile.json`), as in moby/profiles `seccomp/default.json`: it
 * differs from the OCI section by `archMap` and by rules conditioned on the
 * container's capabilities, the architecture and the kernel version.
 */
export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number | null;
  architectures?: string[] | null;
  archMap?: { architecture: string; subArchitectures: string[] | null }[] | null;
  syscalls?: SeccompRule[] | null;
  flags?: string[] | null;
}

/** DEFAULT_SECCOMP_PROFILE is Docker's default profile (moby/profiles `seccomp/default.json`), shipped with this package. */
export const DEFAULT_SECCOMP_PROFILE: SeccompProfile = defaultProfileJson as SeccompProfile;

/** SeccompTarget says what the profile is resolved for. */
export interface SeccompTarget {
  /** The container's bounding capability set (docker checks `Process.Capabilities.Bounding`). */
  readonly capabilities: readonly string[];
  /** libseccomp/Go-style arch name: `amd64`, `arm64`, `x86`, `s390x`, ... */
  readonly arch: string;
  /** Kernel release, e.g. `6.18.44-fc-v669`. */
  readonly kernel: string;
}

/** Go/libseccomp arch names to seccomp arch constants (moby `nativeToSeccomp`). */
const NATIVE_TO_SECCOMP: Readonly<Record<string, string>> = {
  x86: "SCMP_ARCH_X86",
  amd64: "SCMP_ARCH_X86_64",
  arm: "SCMP_ARCH_ARM",
  arm64: "SCMP_ARCH_AARCH64",
  mips64: "SCMP_ARCH_MIPS64",
  mips64n32: "SCMP_ARCH_MIPS64N32",
  mipsel64: "SCMP_ARCH_MIPSEL64",
  mips3l64n32: "SCMP_ARCH_MIPSEL64N32",
  mipsle: "SCMP_ARCH_MIPSEL",
  ppc: "SCMP_ARCH_PPC",
  ppc64: "SCMP_ARCH_PPC64",
  ppc64le: "SCMP_ARCH_PPC64LE",
  riscv64: "SCMP_ARCH_RISCV64",
  s390: "SCMP_ARCH_S390",
  s390x: "SCMP_ARCH_S390X",
  loong64: "SCMP_ARCH_LOONGARCH64",
};

/** nodeArchToNative maps `process.arch` to the arch names profiles use (`x64` -> `amd64`). */
export function nodeArchToNative(arch: string): string {
  const table: Record<string, string> = {
    x64: "amd64",
    ia32: "x86",
    arm64: "arm64",
    arm: "arm",
    s390x: "s390x",
  };
  return table[arch] ?? arch;
}

/** kernelAtLeast compares a release like `6.18.44-fc` with a `minKernel` like `4.8`. */
export function kernelAtLeast(release: string, min: string): boolean {
  const parse = (v: string): number[] => {
    const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(v);
    if (!m)
      throw new InvalidArgument(`invalid kernel version ${JSON.stringify(v)}, expected <major>.<minor>`);
    return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  };
  const a = parse(release);
  const b = parse(min);
  for (let i = 0; i < 3; i++) {
    if (a[i]! !== b[i]!) return a[i]! > b[i]!;
  }
  return true;
}

/** seccompAction checks a profile's action name against the runtime-spec's list. */
function seccompAction(action: string): RuntimeSpec.LinuxSeccompAction {
  if (RuntimeSpec.isSeccompAction(action)) return action;
  throw new InvalidArgument(
    `invalid seccomp action ${JSON.stringify(action)}: expected one of ${RuntimeSpec.SECCOMP_ACTIONS.join(", ")}`,
  );
}

/**
 * resolveSeccompProfile converts a docker-format profile into the OCI
 * `linux.seccomp` section for one container, with docker's semantics (moby
 * `setupSeccomp`): architectures come from `archMap` for the native arch (or
 * the flat legacy list), and each rule is kept only if none of its
 * `excludes` match (any excluded cap present, native arch listed, kernel at
 * least minKernel) and all of its `includes` match (every cap present, native
 * arch listed, kernel at least minKernel). Rule order is preserved.
 */
export function resolveSeccompProfile(
  profile: SeccompProfile,
  target: SeccompTarget,
): RuntimeSpec.LinuxSeccomp {
  const archList = profile.architectures ?? [];
  const archMap = profile.archMap ?? [];
  if (archList.length > 0 && archMap.length > 0) {
    throw new InvalidArgument(
      "'architectures' and 'archMap' were specified in the seccomp profile, use either 'architectures' or 'archMap'",
    );
  }
  const out: RuntimeSpec.LinuxSeccomp = { defaultAction: seccompAction(profile.defaultAction) };
  if (profile.defaultErrnoRet != null) out.defaultErrnoRet = profile.defaultErrnoRet;
  const architectures = [...archList];
  const native = NATIVE_TO_SECCOMP[target.arch];
  if (native !== undefined) {
    for (const a of archMap) {
      if (a.architecture === native) {
        architectures.push(a.architecture, ...(a.subArchitectures ?? []));
        break;
      }
    }
  }
  if (architectures.length > 0) out.architectures = architectures;
  if (profile.flags && profile.flags.length > 0) out.flags = [...profile.flags];

  const caps = new Set(target.capabilities);
  const syscalls: RuntimeSpec.LinuxSyscall[] = [];
  for (const rule of profile.syscalls ?? []) {
    const ex = rule.excludes ?? {};
    const inc = rule.includes ?? {};
    if (ex.arches?.includes(target.arch)) continue;
    if (ex.caps?.some((c) => caps.has(c))) continue;
    if (ex.minKernel && kernelAtLeast(target.kernel, ex.minKernel)) continue;
    if (inc.arches && inc.arches.length > 0 && !inc.arches.includes(target.arch)) continue;
    if (inc.caps?.some((c) => !caps.has(c))) continue;
    if (inc.minKernel && !kernelAtLeast(target.kernel, inc.minKernel)) continue;
    if (rule.name && rule.names && rule.names.length > 0) {
      throw new InvalidArgument(
        "'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'",
      );
    }
    const names = rule.name ? [rule.name] : [...(rule.names ?? [])];
    const call: RuntimeSpec.LinuxSyscall = { names, action: seccompAction(rule.action) };
    if (rule.errnoRet != null) call.errnoRet = rule.errnoRet;
    if (rule.args && rule.args.length > 0) {
      call.args = rule.args.map((a) => {
        const arg: RuntimeSpec.LinuxSeccompArg = { index: a.index, value: a.value, op: a.op };
        if (a.valueTwo !== undefined) arg.valueTwo = a.valueTwo;
        return arg;
      });
    }
    syscalls.push(call);
  }
  out.syscalls = syscalls;
  return out;
}
