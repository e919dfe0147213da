import { describe, expect, it } from "vitest";
import { kernelAtLeast, resolveSeccompProfile, type SeccompProfile } from "../src/index.ts";

const target = { capabilities: ["CAP_CHOWN"], arch: "amd64", kernel: "5.10.0" };

describe("resolveSeccompProfile", () => {
  it("accepts the old format: flat architectures and one name per rule", () => {
    const old: SeccompProfile = {
      defaultAction: "SCMP_ACT_ERRNO",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
      syscalls: [
        { name: "accept", action: "SCMP_ACT_ALLOW", args: [] },
        {
          name: "clone",
          action: "SCMP_ACT_ALLOW",
          args: [{ index: 0, value: 2080505856, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
        },
      ],
    };
    const out = resolveSeccompProfile(old, target);
    expect(out.architectures).toEqual(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]);
    expect(out.syscalls).toEqual([
      { names: ["accept"], action: "SCMP_ACT_ALLOW" },
      {
        names: ["clone"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: 2080505856, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
      },
    ]);
  });

  it("filters by caps, arch and kernel in both directions", () => {
    const p: SeccompProfile = {
      defaultAction: "SCMP_ACT_ERRNO",
      archMap: [{ architecture: "SCMP_ARCH_AARCH64", subArchitectures: ["SCMP_ARCH_ARM"] }],
      syscalls: [
        { names: ["a"], action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_CHOWN", "CAP_KILL"] } },
        { names: ["b"], action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_CHOWN"] } },
        { names: ["c"], action: "SCMP_ACT_ALLOW", excludes: { caps: ["CAP_CHOWN"] } },
        { names: ["d"], action: "SCMP_ACT_ALLOW", excludes: { arches: ["amd64"] } },
        { names: ["e"], action: "SCMP_ACT_ALLOW", includes: { minKernel: "5.11" } },
        { names: ["f"], action: "SCMP_ACT_ALLOW", excludes: { minKernel: "5.10" } },
        { names: ["g"], action: "SCMP_ACT_ERRNO", errnoRet: 38, includes: { arches: ["amd64"] } },
      ],
    };
    const out = resolveSeccompProfile(p, target);
    expect(out.architectures).toBeUndefined();
    expect(out.syscalls).toEqual([
      { names: ["b"], action: "SCMP_ACT_ALLOW" },
      { names: ["g"], action: "SCMP_ACT_ERRNO", errnoRet: 38 },
    ]);
    expect(resolveSeccompProfile(p, { ...target, arch: "arm64" }).architectures).toEqual([
      "SCMP_ARCH_AARCH64",
      "SCMP_ARCH_ARM",
    ]);
  });

  it("rejects ambiguous profiles with docker's messages", () => {
    expect(() =>
      resolveSeccompProfile(
        {
          defaultAction: "SCMP_ACT_ERRNO",
          architectures: ["x"],
          archMap: [{ architecture: "y", subArchitectures: null }],
        },
        target,
      ),
    ).toThrow(/use either 'architectures' or 'archMap'/);
    expect(() =>
      resolveSeccompProfile(
        {
          defaultAction: "SCMP_ACT_ERRNO",
          syscalls: [{ name: "a", names: ["b"], action: "SCMP_ACT_ALLOW" }],
        },
        target,
      ),
    ).toThrow(/use either 'name' or 'names'/);
  });

  it("rejects actions the runtime-spec does not define", () => {
    expect(() => resolveSeccompProfile({ defaultAction: "SCMP_ACT_NOPE" }, target)).toThrow(
      /invalid seccomp action "SCMP_ACT_NOPE": expected one of SCMP_ACT_KILL, /,
    );
    expect(() =>
      resolveSeccompProfile(
        { defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["a"], action: "allow" }] },
        target,
      ),
    ).toThrow(/invalid seccomp action "allow"/);
  });

  it("compares kernel versions numerically", () => {
    expect(kernelAtLeast("6.18.44-fc-v669", "4.8")).toBe(true);
    expect(kernelAtLeast("4.10.0", "4.8")).toBe(true);
    expect(kernelAtLeast("4.7.9", "4.8")).toBe(false);
  });
});
