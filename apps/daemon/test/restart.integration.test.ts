import { describe, expect, it } from "vitest";
import { useDaemon } from "./harness.ts";

// Containers outlive the daemon: conmon keeps their logs and exit codes while berthd is down,
// and a new berthd adopts them.
const d = useDaemon();

describe("berthd restart", () => {
  it("adopts a running container after kill -9 and keeps its logs complete", async () => {
    const id = d
      .docker([
        "run",
        "-d",
        "--name",
        "survivor",
        "busybox",
        "sh",
        "-c",
        "i=0; while true; do i=$((i+1)); echo line $i; sleep 0.2; done",
      ])
      .stdout.trim();
    const ended = d
      .docker(["run", "-d", "--name", "ender", "busybox", "sh", "-c", "sleep 1; echo bye; exit 7"])
      .stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    await new Promise((r) => setTimeout(r, 600));
    await d.kill9();
    // While the daemon is down, the container keeps writing and the other one exits.
    await new Promise((r) => setTimeout(r, 1500));
    await d.start();

    expect(d.docker(["ps", "--format", "{{.Names}}"]).stdout.trim()).toBe("survivor");
    expect(d.docker(["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", ended]).stdout.trim()).toBe(
      "exited 7",
    );
    expect(d.docker(["logs", "ender"]).stdout).toBe("bye\n");

    const lines = d.docker(["logs", "survivor"]).stdout.trim().split("\n");
    expect(lines.length).toBeGreaterThan(8);
    // Complete: numbered 1..n without a gap across the daemon's death.
    expect(lines).toEqual(lines.map((_, i) => `line ${i + 1}`));

    expect(d.docker(["stop", "-t", "1", "survivor"]).code).toBe(0);
    expect(d.docker(["inspect", "-f", "{{.State.Status}}", "survivor"]).stdout.trim()).toBe("exited");
    expect(d.docker(["rm", "survivor", "ender"]).code).toBe(0);
  });

  it("records the exit of a --rm container that ended while the daemon was down", async () => {
    const id = d.docker(["run", "-d", "--rm", "busybox", "sh", "-c", "sleep 1"]).stdout.trim();
    await d.kill9();
    await new Promise((r) => setTimeout(r, 1500));
    await d.start();
    expect(d.docker(["ps", "-aq", "--no-trunc"]).stdout).not.toContain(id);
  });
});
