// Timed part of bench/run.sh: interleaved `run --rm busybox true` cases, then idle memory.
// run.sh starts the daemons and passes their sockets and PIDs in BENCH_* variables; this file
// only spawns clients, reads /proc and writes the report. Not meant to be run on its own.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";

const env = (k) => {
  const v = process.env[k];
  if (v === undefined || v === "") throw new Error(`bench.mjs: ${k} is not set (run bench/run.sh)`);
  return v;
};
const T = env("BENCH_TMP");
const N = Number(env("BENCH_N"));
const WARMUP = Number(env("BENCH_WARMUP"));
const SLEEPERS = Number(env("BENCH_SLEEPERS"));
const DOCKER = env("BENCH_DOCKER");
const REPO = env("BENCH_REPO");
const PIDS = {
  dockerd: Number(env("BENCH_DOCKERD_PID")),
  containerd: Number(env("BENCH_CONTAINERD_PID")),
  berthd: Number(env("BENCH_BERTHD_PID")),
};
const DOCKERD_SOCK = `unix://${T}/docker.sock`;
const BERTHD_SOCK = `unix://${T}/b/berth.sock`;
const BERTH_CLI = join(REPO, "apps/cli/bin/berth.js");

const log = (msg) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} bench: ${msg}\n`);

/** exec runs one client process to completion; ms is wall time on the monotonic clock. */
function exec(cmd, args, extraEnv = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, {
    env: { ...process.env, ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
    encoding: "utf8",
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", error: r.error };
}

const dockerTo = (sock) => (args) => exec(DOCKER, args, { DOCKER_HOST: sock });
const berthTo = (sock) => (args) =>
  exec("node", [BERTH_CLI, ...args], { DOCKER_HOST: sock, BERTH_NO_AUTOSTART: "1" });

const RUN = ["run", "--rm", "busybox", "true"];
const RUN_NONE = ["run", "--rm", "--network", "none", "busybox", "true"];

/** Cases, in the order of the first iteration; later iterations rotate the order by one. */
const cases = [
  {
    id: "docker-dockerd",
    label: "docker CLI -> dockerd (default bridge net)",
    run: () => dockerTo(DOCKERD_SOCK)(RUN),
  },
  { id: "docker-berthd", label: "docker CLI -> berthd (default net)", run: () => dockerTo(BERTHD_SOCK)(RUN) },
  { id: "berth-berthd", label: "berth CLI -> berthd (default net)", run: () => berthTo(BERTHD_SOCK)(RUN) },
  {
    id: "docker-dockerd-none",
    label: "docker CLI -> dockerd --network none",
    run: () => dockerTo(DOCKERD_SOCK)(RUN_NONE),
  },
  {
    id: "docker-berthd-none",
    label: "docker CLI -> berthd --network none",
    run: () => dockerTo(BERTHD_SOCK)(RUN_NONE),
  },
  {
    id: "berth-berthd-none",
    label: "berth CLI -> berthd --network none",
    run: () => berthTo(BERTHD_SOCK)(RUN_NONE),
  },
  { id: "node", label: "context: node -e 0", run: () => exec("node", ["-e", "0"]) },
  {
    id: "runc-floor",
    label: "context: overlay mount + runc run + umount",
    run: () => exec(`${T}/floor/run.sh`, []),
  },
  { id: "spawn", label: "context: harness spawn of /bin/true", run: () => exec("/bin/true", []) },
];

/** Targets from the issue: berth median over dockerd median, same network mode. */
const targets = [
  {
    case: "docker-berthd",
    base: "docker-dockerd",
    max: 0.25,
    what: "docker CLI: berthd / dockerd (default net)",
  },
  {
    case: "berth-berthd",
    base: "docker-dockerd",
    max: 0.3,
    what: "berth CLI->berthd / docker CLI->dockerd (default net)",
  },
  {
    case: "docker-berthd-none",
    base: "docker-dockerd-none",
    max: 0.25,
    what: "docker CLI: berthd / dockerd (--network none)",
  },
  {
    case: "berth-berthd-none",
    base: "docker-dockerd-none",
    max: 0.3,
    what: "berth CLI->berthd / docker CLI->dockerd (--network none)",
  },
];

function runOnce(c) {
  const r = c.run();
  if (r.error || r.status !== 0) {
    throw new Error(
      `${c.label} failed (exit ${r.status ?? r.error?.message}): ${r.stderr.trim().slice(0, 500)}`,
    );
  }
  return r.ms;
}

// ---------------------------------------------------------------- memory
/** rssKiB reads VmRSS of a PID from /proc (0 when the process is gone). */
function rssKiB(pid) {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
/** ours lists processes named `name` whose command line mentions the bench temp dir. */
function ours(name) {
  const out = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    let argv;
    try {
      argv = readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    if (argv[0]?.split("/").pop() === name && argv.join(" ").includes(`${T}/`)) out.push(Number(d));
  }
  return out;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mib = (kib) => kib / 1024;

function memorySnapshot(phase) {
  const shims = ours("containerd-shim-runc-v2");
  const conmons = ours("conmon");
  const procs = {
    berthd: rssKiB(PIDS.berthd),
    dockerd: rssKiB(PIDS.dockerd),
    containerd: rssKiB(PIDS.containerd),
    shims: shims.map((p) => ({ pid: p, rssKiB: rssKiB(p) })),
    conmons: conmons.map((p) => ({ pid: p, rssKiB: rssKiB(p) })),
  };
  const sum = (xs) => xs.reduce((a, x) => a + x.rssKiB, 0);
  const berthTotal = procs.berthd + sum(procs.conmons);
  const dockerTotal = procs.dockerd + procs.containerd + sum(procs.shims);
  return {
    phase,
    ...procs,
    berthTotalKiB: berthTotal,
    dockerTotalKiB: dockerTotal,
    ratio: berthTotal / dockerTotal,
  };
}

const loadBefore = os.loadavg();
const fresh = memorySnapshot("just started, before any run");
log(`warm-up: ${WARMUP} run(s) per case`);
for (let i = 0; i < WARMUP; i++) for (const c of cases) runOnce(c);

const samples = Object.fromEntries(cases.map((c) => [c.id, []]));
log(`timing: ${N} interleaved iterations of ${cases.length} cases`);
for (let i = 0; i < N; i++) {
  for (let k = 0; k < cases.length; k++) {
    const c = cases[(i + k) % cases.length];
    samples[c.id].push(runOnce(c));
  }
  if ((i + 1) % 5 === 0 || i + 1 === N) log(`  ${i + 1}/${N}`);
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const stats = Object.fromEntries(
  cases.map((c) => {
    const xs = samples[c.id];
    return [
      c.id,
      {
        label: c.label,
        n: xs.length,
        median: median(xs),
        p90: quantile(xs, 0.9),
        min: Math.min(...xs),
        max: Math.max(...xs),
        samples: xs,
      },
    ];
  }),
);
const ratios = targets.map((t) => {
  const ratio = stats[t.case].median / stats[t.base].median;
  return { ...t, ratio, pass: ratio <= t.max };
});

log("memory: idle, no containers");
await sleep(3000);
const idle = memorySnapshot("idle, no containers");

log(`memory: ${SLEEPERS} detached sleep 1000 containers per daemon`);
const started = { dockerd: [], berthd: [] };
for (let i = 0; i < SLEEPERS; i++) {
  for (const [name, sock] of [
    ["dockerd", DOCKERD_SOCK],
    ["berthd", BERTHD_SOCK],
  ]) {
    const r = dockerTo(sock)(["run", "-d", "--network", "none", "busybox", "sleep", "1000"]);
    if (r.status !== 0) throw new Error(`docker run -d on ${name} failed: ${r.stderr.trim()}`);
    started[name].push(r.stdout.trim());
  }
}
await sleep(3000);
const busy = memorySnapshot(`${SLEEPERS} detached sleep containers`);
for (const [name, sock] of [
  ["dockerd", DOCKERD_SOCK],
  ["berthd", BERTHD_SOCK],
]) {
  const r = dockerTo(sock)(["rm", "-f", ...started[name]]);
  if (r.status !== 0) log(`warning: rm -f on ${name}: ${r.stderr.trim()}`);
}

// ---------------------------------------------------------------- report
const sh = (cmd, args) => {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.trim();
};
const cpu = os.cpus()[0]?.model ?? "unknown";
const machine = {
  host: os.hostname(),
  kernel: `${os.type()} ${os.release()}`,
  cpu: `${os.cpus().length} x ${cpu}`,
  memGiB: Math.round(os.totalmem() / 2 ** 30),
};
const versions = {
  dockerd: sh("dockerd", ["--version"]),
  containerd: sh("containerd", ["--version"]),
  dockerCli: sh(DOCKER, ["version", "--format", "{{.Client.Version}}"]).split("\n")[0],
  runc: sh("runc", ["--version"]).split("\n")[0],
  conmon: sh("conmon", ["--version"]).split("\n")[0],
  node: process.version,
  berthCommit: sh("git", ["-C", REPO, "rev-parse", "--short", "HEAD"]),
  berthDirty: sh("git", ["-C", REPO, "status", "--porcelain", "--", "packages", "apps"]) !== "",
};

const f0 = (x) => x.toFixed(0);
const lines = [];
lines.push(
  `date: ${new Date().toISOString()}   N=${N} (warm-up ${WARMUP}), interleaved, order rotated each iteration`,
);
lines.push(
  `machine: ${machine.cpu}, ${machine.memGiB} GiB, ${machine.kernel}; load average before/after ${loadBefore[0].toFixed(2)}/${os.loadavg()[0].toFixed(2)}`,
);
lines.push(
  `versions: ${versions.dockerd}; containerd ${versions.containerd.split(" ")[2] ?? "?"}; docker CLI ${versions.dockerCli}; ${versions.runc}; ${versions.conmon}; node ${versions.node}; berth ${versions.berthCommit}${versions.berthDirty ? " (uncommitted changes in packages/ or apps/)" : ""}`,
);
lines.push("");
lines.push("| case | median ms | p90 ms | min ms |");
lines.push("| --- | ---: | ---: | ---: |");
for (const c of cases) {
  const s = stats[c.id];
  lines.push(`| ${c.label} | ${f0(s.median)} | ${f0(s.p90)} | ${f0(s.min)} |`);
}
lines.push("");
lines.push("| ratio of medians | measured | target | |");
lines.push("| --- | ---: | ---: | --- |");
for (const r of ratios)
  lines.push(`| ${r.what} | ${r.ratio.toFixed(2)}x | <= ${r.max}x | ${r.pass ? "met" : "NOT met"} |`);
lines.push("");
lines.push("| idle memory (VmRSS) | berthd side MiB | dockerd side MiB | berth / docker | target |");
lines.push("| --- | ---: | ---: | ---: | --- |");
for (const m of [fresh, idle, busy]) {
  const b = `berthd ${mib(m.berthd).toFixed(1)}${m.conmons.length ? ` + ${m.conmons.length} conmon ${mib(m.conmons.reduce((a, x) => a + x.rssKiB, 0)).toFixed(1)}` : ""} = ${mib(m.berthTotalKiB).toFixed(1)}`;
  const d = `dockerd ${mib(m.dockerd).toFixed(1)} + containerd ${mib(m.containerd).toFixed(1)}${m.shims.length ? ` + ${m.shims.length} shim ${mib(m.shims.reduce((a, x) => a + x.rssKiB, 0)).toFixed(1)}` : ""} = ${mib(m.dockerTotalKiB).toFixed(1)}`;
  const target = m !== busy ? `< 0.5 (${m.ratio < 0.5 ? "met" : "NOT met"})` : "";
  lines.push(`| ${m.phase} | ${b} | ${d} | ${m.ratio.toFixed(2)} | ${target} |`);
}
const table = lines.join("\n");
process.stdout.write(`\n${table}\n\n`);

const stamp = new Date().toISOString().replace(/[:.]/g, "-");
const out = join(REPO, "bench/results", `run-${stamp}.json`);
writeFileSync(
  out,
  `${JSON.stringify({ date: new Date().toISOString(), n: N, warmup: WARMUP, machine, versions, setup: { dockerd: "own --data-root/--exec-root/-H, managed containerd under its exec-root, --bridge (private bridge) --iptables=false --ip-forward=false --ip-masq=false", berthd: "own --data-root/--exec-root" }, stats, ratios, loadavg: { before: loadBefore, after: os.loadavg() }, memory: { fresh, idle, busy }, table }, null, 2)}\n`,
);
// Keep `biome check .` at the repo root clean even with results on disk (they are gitignored).
spawnSync(join(REPO, "node_modules/.bin/biome"), ["format", "--write", out], { stdio: "ignore" });
log(`wrote ${out}`);
