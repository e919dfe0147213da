import { describe, expect, it } from "vitest";
import { checkIfName } from "../src/bridge.ts";
import { ruleBridge, splitRule } from "../src/Firewall.ts";
import { run, runOk } from "../src/run.ts";

describe("run", () => {
  it("quotes the command and its stderr when it fails", async () => {
    await expect(runOk("sh", ["-c", "echo oops >&2; exit 3"])).rejects.toMatchObject({
      _tag: "Internal",
      message: 'sh -c "echo oops >&2; exit 3" exited with status 3: oops',
    });
  });
  it("feeds stdin and returns stdout", async () => {
    expect(await runOk("cat", [], { input: "hello\n" })).toBe("hello\n");
    expect(await run("sh", ["-c", "exit 0"])).toEqual({ code: 0, stdout: "", stderr: "" });
  });
  it("Unavailable when the program is missing", async () => {
    await expect(runOk("/nonexistent/berth-tool", [])).rejects.toMatchObject({ _tag: "Unavailable" });
  });
});

describe("interface names", () => {
  it.each(["", "x".repeat(16), "a b", "a/b", "a:b", "..", "a\nb"])("rejects %j", (n) => {
    expect(() => checkIfName(n)).toThrow(expect.objectContaining({ _tag: "InvalidArgument" }));
  });
  it("accepts kernel-legal names", () => {
    for (const n of ["eth0", "veth0123456789a", "br-1a2b3c4d5e6f", "bt01ab.c"]) checkIfName(n);
  });
});

describe("iptables -S lines", () => {
  it("tokenizes quoted comments and finds the bridge", () => {
    const t = splitRule('-A BERTH-FORWARD -i br0 ! -o br0 -m comment --comment "berth:br0" -j ACCEPT');
    expect(t).toEqual([
      "-A",
      "BERTH-FORWARD",
      "-i",
      "br0",
      "!",
      "-o",
      "br0",
      "-m",
      "comment",
      "--comment",
      "berth:br0",
      "-j",
      "ACCEPT",
    ]);
    expect(ruleBridge(t)).toBe("br0");
    expect(ruleBridge(splitRule("-A FORWARD -m comment --comment berth -j BERTH-FORWARD"))).toBeUndefined();
    expect(ruleBridge(splitRule('-A X -m comment --comment "other thing" -j DROP'))).toBeUndefined();
    expect(splitRule('-A X --comment "a \\"q\\" b"')).toEqual(["-A", "X", "--comment", 'a "q" b']);
  });
});
