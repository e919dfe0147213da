import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatInfo } from "../src/commands/info.ts";
import { formatServer } from "../src/commands/version.ts";

const fixture = (name: string) =>
  JSON.parse(readFileSync(join(import.meta.dirname, "fixtures", name), "utf8"));

describe("version and info layout (engine-api-traces/01)", () => {
  it("prints the Server section of `docker version` as docker did", () => {
    expect(formatServer(fixture("version-01.txt"))).toBe(
      [
        "",
        "Server:",
        " Engine:",
        "  Version:          20.10.24+dfsg1",
        "  API version:      1.41 (minimum version 1.12)",
        "  Go version:       go1.19.8",
        "  Git commit:       5d6db84",
        "  Built:            Thu May  7 21:09:36 2026",
        "  OS/Arch:          linux/amd64",
        "  Experimental:     false",
        " containerd:",
        "  Version:          1.6.20~ds1",
        "  GitCommit:        1.6.20~ds1-1+deb12u3",
        " runc:",
        "  Version:          1.1.5+ds1",
        "  GitCommit:        1.1.5+ds1-1+deb12u1",
        " docker-init:",
        "  Version:          0.19.0",
        "  GitCommit:        ",
        "",
      ].join("\n"),
    );
  });
  it("prints the Server section of `docker info` as docker did", () => {
    const text = formatInfo(fixture("info-01.txt"));
    expect(text).toContain(" Containers: 0\n  Running: 0\n  Paused: 0\n  Stopped: 0\n Images: 1\n");
    expect(text).toContain(
      " Storage Driver: overlay2\n  Backing Filesystem: extfs\n  Supports d_type: true\n",
    );
    expect(text).toContain(
      " Plugins:\n  Volume: local\n  Network: bridge host ipvlan macvlan null overlay\n",
    );
    expect(text).toContain(" Security Options:\n  seccomp\n   Profile: default\n");
    expect(text).toContain(" CPUs: 2\n Total Memory: 23.54GiB\n");
    expect(text).toContain(" Insecure Registries:\n  127.0.0.0/8\n Live Restore Enabled: false\n\n");
  });
});
