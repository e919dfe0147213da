import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll } from "vitest";

/** Repository root. */
export const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

let built = false;
/** buildApps bundles berthd and berth once per test run (esbuild: about a second). */
export function buildApps(): void {
  // The integration project's globalSetup built them once for the whole run.
  if (built || process.env.BERTH_TEST_APPS_BUILT === "1") return;
  for (const app of ["daemon", "cli"]) {
    execFileSync("npx", ["tsup", "--silent"], { cwd: join(repo, "apps", app), stdio: "inherit" });
  }
  built = true;
}

/** busyboxTar makes (once) the busybox root file system tarball from Debian's busybox-static. */
export function busyboxTar(): string {
  const out = join(repo, "test-fixtures", ".cache", "busybox-rootfs-v2.tar");
  if (!existsSync(out)) {
    execFileSync("mkdir", ["-p", dirname(out)]);
    execFileSync(join(repo, "test-fixtures", "busybox", "make-rootfs.sh"), [`${out}.tmp`]);
    execFileSync("mv", [`${out}.tmp`, out]);
  }
  return out;
}

/** Result of a CLI run. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * TestDaemon is a berthd of a test's own: its own data root, exec root and socket in a temp dir,
 * so tests never touch /var/lib/berth or /run/berth.
 */
export class TestDaemon {
  readonly dir: string;
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly socket: string;
  /** This daemon's default bridge device, gateway and user-network pool (its own, as its roots). */
  readonly bridge: string;
  readonly bip: string;
  readonly pool: string;
  proc: ChildProcess | undefined;
  log = "";

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), "berthd-test-"));
    this.dataRoot = join(this.dir, "data");
    this.execRoot = join(this.dir, "run");
    this.socket = join(this.execRoot, "berth.sock");
    const r = randomBytes(3);
    this.bridge = `bt${r.toString("hex")}`;
    this.bip = `10.${250 + (r[0]! % 5)}.${r[1]}.1/24`;
    this.pool = `base=10.${200 + (r[2]! % 50)}.0.0/16,size=24`;
  }

  get host(): string {
    return `unix://${this.socket}`;
  }

  /** start launches berthd and waits until `/_ping` answers. */
  async start(): Promise<void> {
    buildApps();
    const proc = spawn(
      process.execPath,
      [
        join(repo, "apps/daemon/bin/berthd.js"),
        "--data-root",
        this.dataRoot,
        "--exec-root",
        this.execRoot,
        "--bridge",
        this.bridge,
        "--bip",
        this.bip,
        "--default-address-pool",
        this.pool,
        // Tests never reach Docker Hub (no traffic beyond 127/8): a missing image fails at once.
        "--blocked-registry",
        "docker.io",
      ],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    this.proc = proc;
    proc.stdout?.on("data", (b: Buffer) => {
      this.log += b.toString();
    });
    proc.stderr?.on("data", (b: Buffer) => {
      this.log += b.toString();
    });
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`berthd exited with ${proc.exitCode}:\n${this.log}`);
      if (await this.ping()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`berthd did not answer /_ping within 15s:\n${this.log}`);
  }

  ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const req = request({ socketPath: this.socket, path: "/_ping", method: "GET" }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on("error", () => resolve(false));
      req.end();
    });
  }

  /** api sends one raw request to the daemon and returns status and body. */
  api(
    method: string,
    path: string,
    body?: string | Buffer,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socket, path, method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      });
      req.on("error", reject);
      req.end(body);
    });
  }

  /** kill9 kills berthd abruptly (containers must survive under conmon). */
  async kill9(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGKILL");
    await exited;
  }

  /** stop ends berthd gracefully. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGTERM");
    await exited;
  }

  /** docker runs the real docker CLI against this daemon. */
  docker(
    args: string[],
    opts: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {},
  ): RunResult {
    return run("docker", args, {
      ...opts,
      env: { DOCKER_HOST: this.host, DOCKER_CONFIG: join(this.dir, "docker-config"), ...opts.env },
    });
  }

  /** berth runs the berth CLI against this daemon. */
  berth(args: string[], opts: { input?: string; timeoutMs?: number } = {}): RunResult {
    buildApps();
    return run(process.execPath, [join(repo, "apps/cli/bin/berth.js"), ...args], {
      ...opts,
      env: { DOCKER_HOST: this.host, BERTH_NO_AUTOSTART: "1" },
    });
  }

  /** importBusybox makes `busybox:latest` in this daemon through the real docker CLI's import. */
  importBusybox(tag = "busybox:latest"): string {
    const r = this.docker(["import", "--change", 'CMD ["sh"]', busyboxTar(), tag]);
    if (r.code !== 0) throw new Error(`import failed: ${r.stderr}`);
    return r.stdout.trim();
  }

  /** cleanup removes every container (force), stops berthd and deletes the temp dir. */
  async cleanup(): Promise<void> {
    if (this.proc && this.proc.exitCode === null) {
      const ids = this.docker(["ps", "-aq"]).stdout.split("\n").filter(Boolean);
      if (ids.length > 0) this.docker(["rm", "-f", ...ids]);
      this.docker(["network", "prune", "-f"]);
      await this.stop();
    }
    // The default bridge outlives a daemon (as docker0 does); a test daemon's goes with it.
    removeBridgeAndRules(this.bridge);
    spawnSync("umount", ["-R", this.dataRoot], { stdio: "ignore" });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** removeBridgeAndRules deletes a bridge device and every iptables rule berth tagged for it. */
export function removeBridgeAndRules(bridge: string): void {
  spawnSync("ip", ["link", "del", bridge], { stdio: "ignore" });
  for (const table of ["filter", "nat"]) {
    const rules = spawnSync("iptables", ["-t", table, "-S"], { encoding: "utf8" }).stdout ?? "";
    for (const line of rules.split("\n")) {
      if (!line.startsWith("-A ") || !line.includes(`berth:${bridge}`)) continue;
      const args = line.slice(3).match(/"[^"]*"|\S+/g) ?? [];
      spawnSync("iptables", ["-t", table, "-D", ...args.map((a) => a.replace(/^"|"$/g, ""))], {
        stdio: "ignore",
      });
    }
  }
}

/** run executes a command with extra environment and returns its exit code and output. */
export function run(
  cmd: string,
  args: string[],
  opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): RunResult {
  const r = spawnSync(cmd, args, {
    input: opts.input ?? "",
    env: { ...process.env, ...opts.env },
    timeout: opts.timeoutMs ?? 60_000,
    encoding: "utf8",
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/**
 * runAsync is {@link run} without blocking the test process: use it for commands that may take
 * a minute or more (debootstrap), since a test worker whose event loop is blocked that long
 * misses vitest's RPC deadline ("Timeout calling onTaskUpdate") even though the test passed.
 */
export function runAsync(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      env: { ...process.env, ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** mountsUnder lists mount points below a directory (for leak checks). */
export function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m.startsWith(dir));
}

/**
 * useDaemon gives a test file its own berthd, started before its tests and cleaned up after, with
 * `busybox:latest` imported through the given CLI (default: the real docker CLI).
 */
export function useDaemon(opts: { importWith?: "docker" | "berth" } = {}): TestDaemon {
  const d = new TestDaemon();
  beforeAll(async () => {
    await d.start();
    if (opts.importWith === "berth") {
      const r = d.berth(["import", "--change", 'CMD ["sh"]', busyboxTar(), "busybox"]);
      if (r.code !== 0) throw new Error(`berth import failed: ${r.stderr}`);
    } else {
      d.importBusybox();
    }
  }, 120_000);
  afterAll(async () => {
    await d.cleanup();
  });
  return d;
}
