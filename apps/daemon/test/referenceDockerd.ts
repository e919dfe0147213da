import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { type RunResult, run } from "./harness.ts";

/** hasDockerd tells whether Debian's docker.io dockerd is installed (tests that need it skip otherwise). */
export function hasDockerd(): boolean {
  return spawnSync("sh", ["-c", "command -v dockerd"], { stdio: "ignore" }).status === 0;
}

/**
 * ReferenceDockerd is a private dockerd (Debian's docker.io) for interop tests, started as
 * bench/run.sh starts one: its own data root, exec root, socket, key file, containerd namespace
 * and cgroup parent under a temp dir; no default bridge and no iptables rules (containers run
 * with `--network none`). It never touches the system docker service. `stop` ends dockerd and
 * the containerd it started, by PID, after checking their command lines name our temp dir.
 */
export class ReferenceDockerd {
  readonly dir: string;
  readonly socket: string;
  readonly cgroupParent: string;
  proc: ChildProcess | undefined;
  log = "";

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), "berth-refdockerd-"));
    this.socket = join(this.dir, "docker.sock");
    this.cgroupParent = basename(this.dir);
  }

  get host(): string {
    return `unix://${this.socket}`;
  }

  /** start launches dockerd and waits until the docker CLI gets an answer (up to 60 s). */
  async start(): Promise<void> {
    mkdirSync(join(this.dir, "data"));
    mkdirSync(join(this.dir, "exec"));
    writeFileSync(
      join(this.dir, "daemon.json"),
      JSON.stringify({ "deprecated-key-path": join(this.dir, "key.json") }),
    );
    const proc = spawn(
      "dockerd",
      [
        "--config-file",
        join(this.dir, "daemon.json"),
        "--data-root",
        join(this.dir, "data"),
        "--exec-root",
        join(this.dir, "exec"),
        "--pidfile",
        join(this.dir, "dockerd.pid"),
        "-H",
        this.host,
        "--containerd-namespace",
        `${this.cgroupParent}`,
        "--containerd-plugins-namespace",
        `${this.cgroupParent}-plugins`,
        "--bridge",
        "none",
        "--iptables=false",
        "--ip-forward=false",
        "--ip-masq=false",
        "--cgroup-parent",
        `/${this.cgroupParent}`,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.proc = proc;
    proc.stdout?.on("data", (b: Buffer) => {
      this.log += b.toString();
    });
    proc.stderr?.on("data", (b: Buffer) => {
      this.log += b.toString();
    });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null)
        throw new Error(`dockerd exited with ${proc.exitCode}:\n${this.log.slice(-3000)}`);
      if (existsSync(this.socket) && this.docker(["version"]).code === 0) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`dockerd did not answer within 60s:\n${this.log.slice(-3000)}`);
  }

  /** docker runs the real docker CLI against this dockerd. */
  docker(
    args: string[],
    opts: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {},
  ): RunResult {
    return run("docker", args, {
      ...opts,
      env: { DOCKER_HOST: this.host, DOCKER_CONFIG: join(this.dir, "docker-config"), ...opts.env },
    });
  }

  /** stop removes its containers, ends dockerd and its containerd (by PID), and deletes the temp dir. */
  async stop(): Promise<void> {
    const p = this.proc;
    let containerd: number | undefined;
    try {
      const pid = Number(readFileSync(join(this.dir, "exec", "containerd", "containerd.pid"), "utf8").trim());
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (cmd.includes(`${this.dir}/`)) containerd = pid;
    } catch {
      containerd = undefined;
    }
    if (p && p.exitCode === null) {
      const ids = this.docker(["ps", "-aq"]).stdout.split("\n").filter(Boolean);
      if (ids.length > 0) this.docker(["rm", "-f", ...ids]);
      const exited = new Promise((r) => p.once("exit", r));
      p.kill("SIGTERM");
      const timer = setTimeout(() => p.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(timer);
    }
    if (containerd !== undefined) {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && existsSync(`/proc/${containerd}`)) {
        await new Promise((r) => setTimeout(r, 100));
      }
      if (existsSync(`/proc/${containerd}`)) process.kill(containerd, "SIGKILL");
    }
    const mounts = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .map((l) => l.split(" ")[4] ?? "")
      .filter((m) => m.startsWith(`${this.dir}/`))
      .sort()
      .reverse();
    for (const m of mounts) spawnSync("umount", ["-l", m], { stdio: "ignore" });
    // dockerd makes its cgroup parent in every hierarchy; empty once its containers are gone.
    for (const sub of readdirSync("/sys/fs/cgroup")) {
      const d = `/sys/fs/cgroup/${sub}/${this.cgroupParent}`;
      try {
        if (existsSync(d)) rmdirSync(d);
      } catch {
        // still busy: harmless, and not ours to force
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
