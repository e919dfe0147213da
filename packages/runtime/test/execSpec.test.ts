import { describe, expect, it } from "vitest";
import { buildSpec, execProcessSpec } from "../src/index.ts";

const ctr = buildSpec({ rootfs: "/r", args: ["sleep", "1"], env: ["A=1", "B=2"], cwd: "/srv", hostname: "h" })
  .process!;

describe("execProcessSpec", () => {
  it("keeps the container's process but takes the exec's args, env, cwd and user", () => {
    const p = execProcessSpec(ctr, {
      args: ["id"],
      env: ["B=3", "C=4"],
      cwd: "/etc",
      user: { uid: 65534, gid: 65534, additionalGids: [] },
    });
    expect(p.args).toEqual(["id"]);
    expect(p.env).toContain("A=1");
    expect(p.env).toContain("B=3");
    expect(p.env).toContain("C=4");
    expect(p.env).not.toContain("B=2");
    expect(p.cwd).toBe("/etc");
    expect(p.user).toEqual({ uid: 65534, gid: 65534 });
    expect(p.capabilities).toEqual(ctr.capabilities);
    expect(p.terminal).toBe(false);
  });

  it("defaults cwd and user to the container's and adds TERM with a terminal", () => {
    const p = execProcessSpec(ctr, { args: ["sh"], terminal: true });
    expect(p.cwd).toBe("/srv");
    expect(p.user).toEqual(ctr.user);
    expect(p.terminal).toBe(true);
    expect(p.env).toContain("TERM=xterm");
    expect(execProcessSpec(ctr, { args: ["sh"], terminal: true, env: ["TERM=vt100"] }).env).not.toContain(
      "TERM=xterm",
    );
  });

  it("rejects relative cwds and cwds under /proc/self/fd (T2)", () => {
    expect(() => execProcessSpec(ctr, { args: ["sh"], cwd: "etc" })).toThrow(/absolute path/);
    expect(() => execProcessSpec(ctr, { args: ["sh"], cwd: "/proc/self/fd/5" })).toThrow(/proc/);
    expect(() => execProcessSpec(ctr, { args: ["sh"], cwd: "/proc/thread-self/fd/" })).toThrow(/proc/);
  });

  it("gives a privileged exec the whole bounding set", () => {
    const p = execProcessSpec(ctr, { args: ["sh"], privileged: true });
    expect(p.capabilities?.effective).toEqual(ctr.capabilities?.bounding);
  });
});
