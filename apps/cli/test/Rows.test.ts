import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ContainerSummary, ImageSummary } from "@berth/api";
import { describe, expect, it } from "vitest";
import { containerContext, DEFAULT_PS_FORMAT, displayablePorts, PS_HEADER } from "../src/ContainerRow.ts";
import { parseFlags } from "../src/FlagParser.ts";
import { renderRows } from "../src/Formatter.ts";
import { DEFAULT_IMAGES_FORMAT, IMAGES_HEADER, imageRows } from "../src/ImageRow.ts";
import { buildCreateRequest, RUN_FLAGS } from "../src/RunConfig.ts";

const fixture = (name: string) => readFileSync(join(import.meta.dirname, "fixtures", name), "utf8");

describe("ps rows (engine-api-traces/03)", () => {
  const containers = JSON.parse(fixture("ps-03.txt")) as ContainerSummary[];
  const now = 1795819739_500;
  const rows = containers.map((c) => containerContext(c, true, now));

  it("renders the default table exactly as docker did", () => {
    expect(renderRows(DEFAULT_PS_FORMAT, rows, PS_HEADER)).toBe(
      [
        "CONTAINER ID   IMAGE       COMMAND                  CREATED         STATUS         PORTS                                     NAMES",
        '3d56e9a3d304   bb:latest   "sh -c \'i=0; while t…"   5 seconds ago   Up 4 seconds                                             ticker',
        '644eef5b2586   bb:latest   "sh -c \'echo web sta…"   6 seconds ago   Up 5 seconds   0.0.0.0:4000->80/tcp, [::]:4000->80/tcp   web',
        "",
      ].join("\n"),
    );
  });
  it("renders the empty table header", () => {
    expect(renderRows(DEFAULT_PS_FORMAT, [], PS_HEADER)).toBe(
      "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n",
    );
  });
  it("renders custom and quiet formats", () => {
    expect(renderRows("{{.Names}} {{.Status}}", rows.slice(1), PS_HEADER)).toBe("web Up 5 seconds\n");
    expect(renderRows("{{.ID}}", rows, PS_HEADER)).toBe("3d56e9a3d304\n644eef5b2586\n");
    expect(renderRows("table {{.Names}}\\t{{.State}}", rows, PS_HEADER)).toBe(
      "NAMES     STATE\nticker    running\nweb       running\n",
    );
  });
  it("renders json with docker's keys, sorted", () => {
    const line = renderRows("json", rows.slice(0, 1), PS_HEADER).trim();
    const obj = JSON.parse(line) as Record<string, string>;
    expect(Object.keys(obj)).toEqual([
      "Command",
      "CreatedAt",
      "ID",
      "Image",
      "Labels",
      "LocalVolumes",
      "Mounts",
      "Names",
      "Networks",
      "Platform",
      "Ports",
      "RunningFor",
      "Size",
      "State",
      "Status",
    ]);
    expect(obj.Names).toBe("ticker");
    expect(obj.Networks).toBe("bridge");
    expect(obj.Command).toBe('"sh -c \'i=0; while t…"');
  });
  it("does not truncate with --no-trunc", () => {
    const c = containerContext(containers[0] as ContainerSummary, false, now);
    expect(c.ID()).toBe("3d56e9a3d30453fe9948d3864a41369db290953026de39bf9584db90fddd431e");
    expect(c.Command()).toBe("\"sh -c 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done'\"");
  });
  it("groups exposed port ranges like DisplayablePorts", () => {
    expect(
      displayablePorts([
        { PrivatePort: 80, Type: "tcp" },
        { PrivatePort: 81, Type: "tcp" },
        { PrivatePort: 53, Type: "udp" },
        { IP: "0.0.0.0", PrivatePort: 8080, PublicPort: 8080, Type: "tcp" },
      ]),
    ).toBe("53/udp, 80-81/tcp, 0.0.0.0:8080->8080/tcp");
  });
});

describe("images rows (engine-api-traces/07)", () => {
  const images = JSON.parse(fixture("images-07.txt")) as ImageSummary[];
  it("renders the default table exactly as docker did", () => {
    const rows = imageRows(images, { trunc: true, digests: false }, 1795819910_200);
    expect(renderRows(DEFAULT_IMAGES_FORMAT, rows, IMAGES_HEADER)).toBe(
      [
        "REPOSITORY      TAG       IMAGE ID       CREATED          SIZE",
        "<none>          <none>    61b5a897967c   21 seconds ago   1.98MB",
        "friendlyhello   quiet     8a0deab0db5d   24 seconds ago   1.98MB",
        "friendlyhello   latest    9343682bb2d7   27 seconds ago   1.98MB",
        "bb              latest    a4037595f994   12 minutes ago   1.98MB",
        "",
      ].join("\n"),
    );
  });
  it("expands several tags into rows and shortens docker.io names", () => {
    const img = {
      Id: "sha256:" + "a".repeat(64),
      ParentId: "",
      RepoTags: ["docker.io/library/busybox:latest", "busybox:1", "myrepo/x:1.0"],
      RepoDigests: [],
      Created: 0,
      Size: 4_260_000,
      SharedSize: -1,
      Labels: {},
      Containers: -1,
    } satisfies ImageSummary;
    const rows = imageRows([img], { trunc: true, digests: false });
    expect(rows.map((r) => `${r.Repository()}:${r.Tag()} ${r.Size()} [${r.CreatedSince()}]`)).toEqual([
      "busybox:latest 4.26MB []",
      "busybox:1 4.26MB []",
      "myrepo/x:1.0 4.26MB []",
    ]);
    expect(renderRows(DEFAULT_IMAGES_FORMAT, rows.slice(0, 1), IMAGES_HEADER).split("\n")[1]).toBe(
      "busybox      latest    aaaaaaaaaaaa   N/A       4.26MB",
    );
  });
});

describe("run create body (engine-api-traces/02)", () => {
  it("matches docker's body for `run --rm bb:latest echo hello` byte for byte", () => {
    const p = parseFlags(["--rm", "bb:latest", "echo", "hello"], RUN_FLAGS, { interspersed: false });
    const req = buildCreateRequest(p, { consoleSize: [0, 0], env: {} }, false);
    expect(JSON.stringify(req.body)).toBe(fixture("run-rm-echo.create.txt").trim());
    expect(req.autoRemove).toBe(true);
  });
  it("maps limits, env, labels, restart and -it", () => {
    const p = parseFlags(
      [
        "-it",
        "-m",
        "50m",
        "--cpus",
        "0.1",
        "--pids-limit",
        "64",
        "-e",
        "FOO=bar",
        "-e",
        "EMPTY=",
        "-l",
        "app=demo",
        "--restart",
        "on-failure:3",
        "-h",
        "myhost",
        "-u",
        "1000:1000",
        "-w",
        "/tmp",
        "--entrypoint",
        "sh",
        "--cap-add",
        "NET_ADMIN",
        "--read-only",
        "--privileged",
        "--stop-signal",
        "SIGINT",
        "--stop-timeout",
        "3",
        "--init",
        "-p",
        "127.0.0.1:4001:80",
        "-v",
        "vol:/data",
        "-v",
        "/anon",
        "bb",
      ],
      RUN_FLAGS,
      { interspersed: false },
    );
    const req = buildCreateRequest(p, { consoleSize: [40, 120], env: {} }, false);
    const b = req.body;
    expect(b).toMatchObject({
      Hostname: "myhost",
      User: "1000:1000",
      AttachStdin: true,
      Tty: true,
      OpenStdin: true,
      StdinOnce: true,
      Env: ["FOO=bar", "EMPTY="],
      Cmd: null,
      Entrypoint: ["sh"],
      WorkingDir: "/tmp",
      Labels: { app: "demo" },
      ExposedPorts: { "80/tcp": {} },
      Volumes: { "/anon": {} },
      StopSignal: "SIGINT",
      StopTimeout: 3,
    });
    expect(b.HostConfig).toMatchObject({
      Memory: 52428800,
      NanoCpus: 100000000,
      PidsLimit: 64,
      RestartPolicy: { Name: "on-failure", MaximumRetryCount: 3 },
      ConsoleSize: [40, 120],
      CapAdd: ["NET_ADMIN"],
      ReadonlyRootfs: true,
      Privileged: true,
      Init: true,
      Binds: ["vol:/data"],
      PortBindings: { "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "4001" }] },
    });
  });
  it("clears attach flags with -d", () => {
    const p = parseFlags(["-d", "bb", "sleep", "1"], RUN_FLAGS, { interspersed: false });
    const req = buildCreateRequest(p, { consoleSize: [0, 0], env: {} }, true);
    expect(req.body).toMatchObject({
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      Cmd: ["sleep", "1"],
    });
  });
});
