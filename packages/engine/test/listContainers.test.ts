import { describe, expect, it } from "vitest";
import { parseFiltersJSON } from "../src/filters.ts";
import { listContainers } from "../src/listContainers.ts";
import type { ContainerRecord } from "../src/types.ts";
import { containerSummary, humanDuration, statusText } from "../src/views.ts";

function rec(
  id: string,
  name: string,
  status: ContainerRecord["state"]["status"],
  created: string,
  extra: Partial<ContainerRecord> = {},
): ContainerRecord {
  return {
    id,
    name,
    created,
    path: "sh",
    args: ["-c", "echo hi; exit 3"],
    config: { Image: "busybox", Labels: { app: name } },
    hostConfig: { NetworkMode: "default" },
    image: "sha256:img",
    state: {
      status,
      pid: 0,
      exitCode: status === "exited" ? 3 : 0,
      error: "",
      oomKilled: false,
      startedAt: created,
      finishedAt: created,
    },
    restartCount: 0,
    logPath: "",
    hostnamePath: "",
    hostsPath: "",
    resolvConfPath: "",
    rootfs: { lowerdirs: [], upperdir: "", workdir: "", merged: "" },
    ...extra,
  };
}

const recs = [
  rec("aaa111", "web", "running", "2026-01-01T00:00:01Z"),
  rec("bbb222", "ticker", "exited", "2026-01-01T00:00:02Z"),
  rec("ccc333", "worker", "created", "2026-01-01T00:00:03Z"),
];

describe("listContainers", () => {
  it("shows running containers by default and all with all, newest first", () => {
    expect(listContainers(recs).map((c) => c.name)).toEqual(["web"]);
    expect(listContainers(recs, { all: true }).map((c) => c.name)).toEqual(["worker", "ticker", "web"]);
  });

  it("applies docker's filters", () => {
    const f = (json: string) =>
      listContainers(recs, { all: true, filters: parseFiltersJSON(json) }).map((c) => c.name);
    expect(f('{"name":{"web":true}}')).toEqual(["web"]);
    expect(f('{"status":["exited"]}')).toEqual(["ticker"]);
    expect(f('{"exited":["3"]}')).toEqual(["ticker"]);
    expect(f('{"id":["ccc"]}')).toEqual(["worker"]);
    expect(f('{"label":["app=web"]}')).toEqual(["web"]);
    expect(f('{"before":["worker"]}')).toEqual(["ticker", "web"]);
    expect(f('{"since":["web"]}')).toEqual(["worker", "ticker"]);
    expect(() => f('{"bogus":["x"]}')).toThrow("invalid filter 'bogus'");
    expect(() => f('{"status":["sleeping"]}')).toThrow("invalid filter 'status=sleeping'");
  });

  it("renders docker's summary fields", () => {
    const s = containerSummary(recs[1]!);
    expect(s.Names).toEqual(["/ticker"]);
    expect(s.Command).toBe("sh -c 'echo hi; exit 3'");
    expect(s.State).toBe("exited");
  });

  it("renders docker's status words", () => {
    const now = Date.parse("2026-01-01T00:03:02Z");
    expect(statusText(recs[1]!, now)).toBe("Exited (3) 3 minutes ago");
    expect(statusText(recs[0]!, Date.parse("2026-01-01T00:00:06Z"))).toBe("Up 5 seconds");
    expect(humanDuration(500)).toBe("Less than a second");
    expect(humanDuration(61_000)).toBe("About a minute");
  });
});
