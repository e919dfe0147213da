import { describe, expect, it } from "vitest";
import { busyboxTar, useDaemon } from "./harness.ts";

// container/image/system prune and system df through the real docker CLI and berth against berthd.
const d = useDaemon();

function ok(args: string[], input?: string): string {
  const r = d.docker(args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`docker ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

function berth(args: string[]): string {
  const r = d.berth(args);
  if (r.code !== 0) throw new Error(`berth ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

const ids = (out: string) => out.split("\n").filter(Boolean);

describe("prune and df", () => {
  it("container prune removes stopped containers only, reports their writable layers, honours labels", async () => {
    const running = ok(["run", "-d", "--name", "keeprunning", "busybox", "sleep", "300"]).trim();
    const big = ok([
      "run",
      "--name",
      "big",
      "busybox",
      "sh",
      "-c",
      "dd if=/dev/zero of=/blob bs=1024 count=1024 2>/dev/null",
    ]);
    expect(big).toBe("");
    const bigId = ok(["inspect", "-f", "{{.Id}}", "big"]).trim();
    const created = ok(["create", "busybox", "true"]).trim();
    const labelled = ok(["create", "--label", "keep=yes", "busybox", "true"]).trim();
    // Declined at the prompt: nothing goes.
    const declined = ok(["container", "prune"], "n\n");
    expect(declined).toContain("WARNING! This will remove all stopped containers.");
    expect(ids(ok(["ps", "-aq"]))).toHaveLength(4);
    const out = ok(["container", "prune", "-f", "--filter", "label!=keep=yes"]);
    const lines = out.split("\n");
    expect(lines[0]).toBe("Deleted Containers:");
    expect(new Set(lines.slice(1, 3))).toEqual(new Set([bigId, created]));
    expect(lines[3]).toBe("");
    expect(lines[4]).toMatch(/^Total reclaimed space: 1\.0\d*MB$/);
    expect(ids(ok(["ps", "-aq", "--no-trunc"])).sort()).toEqual([running, labelled].sort());
    expect(ok(["container", "prune", "-f", "--filter", "label=nothing"])).toBe("Total reclaimed space: 0B\n");
    ok(["rm", "-f", running, labelled]);
  });

  it("image prune removes dangling images, and with -a every image no container uses", async () => {
    const dangling = ok(["import", busyboxTar()]).trim();
    ok(["tag", "busybox", "unused:1"]);
    const unusedCopy = ok(["import", busyboxTar(), "other:1"]).trim();
    const user = ok(["create", "busybox", "true"]).trim();
    const out = ok(["image", "prune", "-f"]);
    expect(out).toBe(
      `Deleted Images:\ndeleted: ${dangling}\n\nTotal reclaimed space: ${out.split(": ").at(-1)}`,
    );
    expect(out).toMatch(/Total reclaimed space: \d+(\.\d+)?[kM]B\n$/);
    expect(ok(["images", "-q", "--no-trunc"])).not.toContain(dangling);
    const all = ok(["image", "prune", "-a", "-f"]);
    expect(all).toContain("untagged: other:1\n");
    expect(all).toContain(`deleted: ${unusedCopy}\n`);
    // busybox (also tagged unused:1) stays: a container uses it.
    expect(all).not.toContain("untagged: busybox");
    expect(ok(["images", "--format", "{{.Repository}}:{{.Tag}}"]).split("\n")).toContain("busybox:latest");
    ok(["rm", user]);
    ok(["rmi", "unused:1"]);
  });

  it("system df summarises images, containers, volumes and build cache as docker does", async () => {
    ok(["volume", "create", "dfvol"]);
    const c = ok([
      "run",
      "-d",
      "--name",
      "dfc",
      "-v",
      "dfvol:/data",
      "busybox",
      "sh",
      "-c",
      "echo hello > /data/f; sleep 300",
    ]).trim();
    await new Promise((r) => setTimeout(r, 500));
    const out = ok(["system", "df"]).split("\n");
    expect(out[0]).toMatch(/^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
    expect(out[1]).toMatch(/^Images\s+1\s+1\s+\S+\s+0B \(0%\)$/);
    expect(out[2]).toMatch(/^Containers\s+1\s+1\s+\S+\s+0B/);
    expect(out[3]).toMatch(/^Local Volumes\s+1\s+1\s+6B\s+0B \(0%\)$/);
    expect(out[4]).toMatch(/^Build Cache\s+0\s+0\s+0B\s+0B$/);
    const api = await d.api("GET", "/system/df");
    const df = JSON.parse(api.body);
    expect(df.LayersSize).toBeGreaterThan(0);
    expect(df.Images[0]).toMatchObject({ Containers: 1, SharedSize: 0 });
    expect(df.Containers[0]).toMatchObject({ Id: c, State: "running" });
    expect(df.Containers[0].SizeRootFs).toBeGreaterThanOrEqual(df.Images[0].Size);
    expect(df.Volumes[0]).toMatchObject({ Name: "dfvol", UsageData: { RefCount: 1, Size: 6 } });
    expect(df.BuildCache).toEqual([]);
    const v = ok(["system", "df", "-v"]);
    expect(v).toMatch(
      /^Images space usage:\n\nREPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\s+SHARED SIZE\s+UNIQUE SIZE\s+CONTAINERS\nbusybox\s+latest/,
    );
    expect(v).toMatch(
      /\nContainers space usage:\n\nCONTAINER ID\s+IMAGE\s+COMMAND\s+LOCAL VOLUMES\s+SIZE\s+CREATED\s+STATUS\s+NAMES\n/,
    );
    expect(v).toContain(c.slice(0, 12));
    expect(v).toMatch(/\nLocal Volumes space usage:\n\nVOLUME NAME\s+LINKS\s+SIZE\ndfvol\s+1\s+6B\n/);
    expect(v).toMatch(
      /\nBuild cache usage: 0B\n\nCACHE ID\s+CACHE TYPE\s+SIZE\s+CREATED\s+LAST USED\s+USAGE\s+SHARED\n$/,
    );
    expect(berth(["system", "df"])).toBe(ok(["system", "df"]));
    expect(berth(["system", "df", "--format", "{{.Type}}={{.TotalCount}}"])).toBe(
      "Images=1\nContainers=1\nLocal Volumes=1\nBuild Cache=0\n",
    );
    ok(["rm", "-f", c]);
    ok(["volume", "rm", "dfvol"]);
  });

  it("system prune -a --volumes removes stopped containers, anonymous volumes and unused images", async () => {
    const keep = ok(["run", "-d", "busybox", "sleep", "300"]).trim();
    const stopped = ok(["create", "-v", "/anon", "busybox", "true"]).trim();
    const anon = ok(["inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", stopped]).trim();
    ok(["volume", "create", "named"]);
    const extra = ok(["import", busyboxTar(), "extra:1"]).trim();
    const out = ok(["system", "prune", "-a", "--volumes", "-f"]);
    expect(out).toContain(`Deleted Containers:\n${stopped}\n\n`);
    expect(out).toContain(`Deleted Volumes:\n${anon}\n\n`);
    expect(out).toContain(`Deleted Images:\nuntagged: extra:1\ndeleted: ${extra}\n\n`);
    expect(out).toMatch(/Total reclaimed space: \S+\n$/);
    expect(ids(ok(["ps", "-aq", "--no-trunc"]))).toEqual([keep]);
    expect(ids(ok(["volume", "ls", "-q"]))).toEqual(["named"]);
    const asked = ok(["system", "prune"], "n\n");
    expect(asked).toContain(
      "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all dangling images\n  - unused build cache\n",
    );
    ok(["rm", "-f", keep]);
    ok(["volume", "rm", "named"]);
  });

  it("berth prune commands print what the docker CLI prints", async () => {
    const a = ok(["create", "busybox", "true"]).trim();
    expect(berth(["container", "prune", "-f"])).toBe(
      `Deleted Containers:\n${a}\n\nTotal reclaimed space: 0B\n`,
    );
    const dangling = ok(["import", busyboxTar()]).trim();
    const out = berth(["image", "prune", "-f"]);
    expect(out.startsWith(`Deleted Images:\ndeleted: ${dangling}\n\nTotal reclaimed space: `)).toBe(true);
    expect(berth(["system", "prune", "-f"])).toBe("Total reclaimed space: 0B\n");
  });
});
