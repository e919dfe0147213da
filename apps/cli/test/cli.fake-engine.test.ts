/**
 * Runs the built berth CLI (bin/berth.js) against a fake Engine API on a UNIX socket and checks
 * the request sequence docker v28 sends (engine-api-traces/02, 03) and the exit-code mapping.
 */
import { execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeEngine } from "./FakeEngine.ts";

const appDir = join(import.meta.dirname, "..");
const bin = join(appDir, "bin", "berth.js");
const fake = new FakeEngine();

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function berth(args: string[], env: Record<string, string> = {}, input?: string): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: {
        PATH: process.env.PATH ?? "",
        DOCKER_HOST: `unix://${fake.socket}`,
        BERTH_NO_AUTOSTART: "1",
        ...env,
      },
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    if (input !== undefined) child.stdin?.end(input);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const calls = () => fake.requests.map((r) => `${r.method} ${r.path.replace(fake.id, "{id}")}`);

beforeAll(async () => {
  execFileSync(process.execPath, [join(appDir, "../../node_modules/tsup/dist/cli-default.js")], {
    cwd: appDir,
    stdio: "ignore",
  });
  await fake.listen();
}, 120_000);
afterAll(() => fake.close());

describe("berth run against a fake engine", () => {
  it("run --rm: create, attach, wait?condition=removed, start; prints output and exits with the code", async () => {
    fake.reset({
      output: [
        [1, "to-stdout\n"],
        [2, "to-stderr\n"],
      ],
      exitCode: 3,
    });
    const r = await berth([
      "run",
      "--rm",
      "bb:latest",
      "sh",
      "-c",
      "echo to-stdout; echo to-stderr >&2; exit 3",
    ]);
    expect(r).toMatchObject({ code: 3, stdout: "to-stdout\n", stderr: "to-stderr\n" });
    expect(calls()).toEqual([
      "POST /containers/create",
      "POST /containers/{id}/attach?stderr=1&stdout=1&stream=1",
      "POST /containers/{id}/wait?condition=removed",
      "POST /containers/{id}/start",
    ]);
    const body = JSON.parse(fake.requests[0]?.body ?? "{}");
    expect(body).toMatchObject({ Image: "bb:latest", AttachStdout: true, HostConfig: { AutoRemove: true } });
  });

  it("run -i pipes stdin and half-closes at EOF (echo hello | berth run -i --rm bb cat)", async () => {
    fake.reset({});
    const r = await berth(["run", "-i", "--rm", "bb", "cat"], {}, "hello\n");
    expect(r).toMatchObject({ code: 0, stdout: "hello\n", stderr: "" });
    expect(fake.stdinReceived).toBe("hello\n");
    expect(calls()[1]).toBe("POST /containers/{id}/attach?stderr=1&stdin=1&stdout=1&stream=1");
    const body = JSON.parse(fake.requests[0]?.body ?? "{}");
    expect(body).toMatchObject({ AttachStdin: true, OpenStdin: true, StdinOnce: true, Tty: false });
  });

  it("run -it in a terminal: raw stdin, ConsoleSize, resize after start, ctrl-p ctrl-q detaches", async () => {
    fake.reset({});
    const cmd = `stty cols 120 rows 40; ${process.execPath} ${bin} run -it --rm bb sh`;
    const child = spawn("script", ["-qfec", cmd, "/dev/null"], {
      env: {
        PATH: process.env.PATH ?? "",
        DOCKER_HOST: `unix://${fake.socket}`,
        BERTH_NO_AUTOSTART: "1",
        TERM: "xterm",
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    child.stdout?.resume();
    setTimeout(() => child.stdin?.write("echo hi\r"), 700);
    setTimeout(() => child.stdin?.write("\x10\x11"), 1000);
    const code = await new Promise((r) => child.on("close", r));
    expect(code).toBe(0);
    expect(calls()).toEqual([
      "POST /containers/create",
      "POST /containers/{id}/attach?stderr=1&stdin=1&stdout=1&stream=1",
      "POST /containers/{id}/wait?condition=removed",
      "POST /containers/{id}/start",
      "POST /containers/{id}/resize?h=40&w=120",
    ]);
    const body = JSON.parse(fake.requests[0]?.body ?? "{}");
    expect(body).toMatchObject({
      Tty: true,
      OpenStdin: true,
      StdinOnce: true,
      HostConfig: { ConsoleSize: [40, 120] },
    });
    // raw mode: the carriage return arrives as typed, the detach keys are not forwarded
    expect(fake.stdinReceived).toBe("echo hi\r");
  }, 20_000);

  it("-t with -i and no terminal on stdin fails like docker", async () => {
    fake.reset({});
    const r = await berth(["run", "-it", "bb:latest", "sh"], {}, "");
    expect(r).toEqual({ code: 1, stdout: "", stderr: "the input device is not a TTY\n" });
  });

  it("a start error about a missing executable exits 127 with docker's message", async () => {
    const msg =
      'failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "nosuchbinary": executable file not found in $PATH: unknown';
    fake.reset({ startError: msg, exitCode: 127 });
    const r = await berth(["run", "--rm", "bb:latest", "nosuchbinary"]);
    expect(r.code).toBe(127);
    expect(r.stderr).toBe(
      `berth: Error response from daemon: ${msg}\n\nRun 'berth run --help' for more information\n`,
    );
  });

  it("a permission error exits 126", async () => {
    fake.reset({ startError: 'exec: "/etc": permission denied: unknown' });
    const r = await berth(["run", "bb:latest", "/etc"]);
    expect(r.code).toBe(126);
  });

  it("run -d --name: create?name, wait?condition=next-exit, start; prints the full ID", async () => {
    fake.reset({});
    const r = await berth(["run", "-d", "--name", "web", "bb:latest", "sleep", "300"]);
    expect(r).toMatchObject({ code: 0, stdout: `${fake.id}\n`, stderr: "" });
    expect(calls()).toEqual([
      "POST /containers/create?name=web",
      "POST /containers/{id}/wait?condition=next-exit",
      "POST /containers/{id}/start",
    ]);
  });

  it("flag errors exit 125 with docker's usage text", async () => {
    fake.reset({});
    const r = await berth(["run", "--foo", "bb"]);
    expect(r.code).toBe(125);
    expect(r.stderr).toBe(
      "unknown flag: --foo\n\nUsage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'berth run --help' for more information\n",
    );
    expect(fake.requests).toEqual([]);
  });

  it("a name conflict on create exits 125", async () => {
    fake.reset({});
    fake.script.other = {}; // create always succeeds in the fake; use a missing daemon instead
    const r = await berth(["run", "bb"], { DOCKER_HOST: `unix://${fake.dir}/nothing.sock` });
    expect(r.code).toBe(125);
    expect(r.stderr).toBe(
      `berth: Cannot connect to the Docker daemon at unix://${fake.dir}/nothing.sock. Is the docker daemon running?\n\nRun 'berth run --help' for more information\n`,
    );
  });
});

describe("other commands against a fake engine", () => {
  it("rm prints each name, errors at the end, exit 1", async () => {
    fake.reset({
      other: { "/containers/gone": { status: 404, body: { message: "No such container: gone" } } },
    });
    const r = await berth(["rm", "a", "gone", "b"]);
    expect(r).toEqual({
      code: 1,
      stdout: "a\nb\n",
      stderr: "Error response from daemon: No such container: gone\n",
    });
  });

  it("rm -f of a missing container warns but succeeds", async () => {
    fake.reset({
      other: { "/containers/gone?force=1": { status: 404, body: { message: "No such container: gone" } } },
    });
    const r = await berth(["rm", "-f", "gone"]);
    expect(r).toEqual({
      code: 0,
      stdout: "",
      stderr: "Error response from daemon: No such container: gone\n",
    });
  });

  it("stop -t and kill -s pass their query", async () => {
    fake.reset({});
    expect((await berth(["stop", "-t", "1", "web"])).stdout).toBe("web\n");
    expect((await berth(["container", "kill", "--signal", "HUP", "web"])).stdout).toBe("web\n");
    expect(calls()).toEqual(["POST /containers/web/stop?t=1", "POST /containers/web/kill?signal=HUP"]);
  });

  it("ps renders the daemon's list", async () => {
    fake.reset({ get: { "/containers/json": { status: 200, body: [] } } });
    const r = await berth(["ps"]);
    expect(r).toEqual({
      code: 0,
      stdout: "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n",
      stderr: "",
    });
    fake.reset({ get: { "/containers/json": { status: 200, body: [] } } });
    await berth(["ps", "-a", "--filter", "name=web"]);
    const [call] = calls();
    expect(call?.startsWith("GET /containers/json?all=1&filters=")).toBe(true);
    const filters = JSON.parse(decodeURIComponent(call?.split("filters=")[1] ?? ""));
    // the client may send docker's map form or the list form; both mean name=web
    expect(Array.isArray(filters.name) ? filters.name : Object.keys(filters.name)).toEqual(["web"]);
  });

  it("inspect falls back from container to image and prints 4-space JSON", async () => {
    fake.reset({
      get: {
        "/containers/friendlyhello/json": {
          status: 404,
          body: { message: "No such container: friendlyhello" },
        },
        "/images/friendlyhello/json": {
          status: 200,
          body: { Id: "sha256:x", RepoTags: ["friendlyhello:latest"] },
        },
      },
    });
    const r = await berth(["inspect", "friendlyhello"]);
    expect(r.stdout).toBe(
      '[\n    {\n        "Id": "sha256:x",\n        "RepoTags": [\n            "friendlyhello:latest"\n        ]\n    }\n]\n',
    );
    fake.reset({});
    const missing = await berth(["inspect", "nosuchthing"]);
    expect(missing).toEqual({ code: 1, stdout: "[]\n", stderr: "Error: No such object: nosuchthing\n" });
  });

  it("unknown commands exit 1", async () => {
    const r = await berth(["frobnicate"]);
    expect(r).toEqual({
      code: 1,
      stdout: "",
      stderr: "berth: unknown command: berth frobnicate\n\nRun 'berth --help' for more information\n",
    });
  });
});
