import { describe, expect, it } from "vitest";
import { repo, run, useDaemon } from "./harness.ts";

// `run -it` in a real pseudo-terminal: script(1) gives the client a pty and feeds it our keystrokes.
const d = useDaemon();

function inPty(command: string, input: string, env: Record<string, string>) {
  return run("script", ["-qec", command, "/dev/null"], {
    input,
    env: { ...env, TERM: "xterm" },
    timeoutMs: 30_000,
  });
}

describe("run -it through a pseudo-terminal", () => {
  it("works with the real docker CLI against berthd", () => {
    const r = inPty("docker run -it --rm busybox sh", "tty && echo hi-$((40+2)); exit 4\n", {
      DOCKER_HOST: d.host,
    });
    expect(r.stdout).toContain("hi-42");
    expect(r.stdout).toContain("/dev/pts/0");
    expect(r.code).toBe(4);
  });

  it("works with the berth CLI", () => {
    const berth = `${process.execPath} ${repo}/apps/cli/bin/berth.js`;
    const r = inPty(`${berth} run -it --rm busybox sh`, "tty && echo hi-$((40+3)); exit 5\n", {
      DOCKER_HOST: d.host,
      BERTH_NO_AUTOSTART: "1",
    });
    expect(r.stdout).toContain("hi-43");
    expect(r.code).toBe(5);
  });
});
