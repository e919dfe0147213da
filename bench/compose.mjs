// Compose part of bench/run.sh (issue 6): `compose up -d` of a 10-service busybox project until
// every container is running (and healthy where it has a check), then `compose down`.
// Cases: berth compose -> berthd against the reference tooling (Debian's docker-compose 1.29,
// if installed) -> dockerd; plus the two crossings (berth compose -> dockerd, docker-compose ->
// berthd) as interoperability checks. run.sh starts both daemons and passes their sockets.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const env = (k) => {
  const v = process.env[k];
  if (v === undefined || v === "") throw new Error(`compose.mjs: ${k} is not set (run bench/run.sh)`);
  return v;
};
const T = env("BENCH_TMP");
const DOCKER = env("BENCH_DOCKER");
const REPO = env("BENCH_REPO");
const N = Number(process.env.BENCH_COMPOSE_N ?? 5);
const SERVICES = 10;
const HEALTHY = 3;
const sockets = { dockerd: `unix://${T}/docker.sock`, berthd: `unix://${T}/b/berth.sock` };

const log = (msg) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} bench: ${msg}\n`);
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const dir = join(T, "compose-bench");
mkdirSync(dir, { recursive: true });
// Workload: by default each service exits on SIGTERM, as real services do (a shell that traps it,
// waiting on a background sleep), so `down` measures stopping, not the grace period. With
// BENCH_COMPOSE_WORKLOAD=ignore-term each service is a bare `sleep 1000` as PID 1, which ignores
// SIGTERM: every `down` then waits the full 1 s grace and SIGKILLs, on both sides alike.
const WORKLOAD = process.env.BENCH_COMPOSE_WORKLOAD || "term";
if (WORKLOAD !== "term" && WORKLOAD !== "ignore-term")
  throw new Error(`compose.mjs: BENCH_COMPOSE_WORKLOAD=${WORKLOAD}: expected term or ignore-term`);
const COMMAND =
  WORKLOAD === "term" ? `["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]` : `["sleep", "1000"]`;
let yaml = "services:\n";
for (let i = 0; i < SERVICES; i++) {
  yaml += `  s${i}:\n    image: busybox\n    command: ${COMMAND}\n    stop_grace_period: 1s\n`;
  if (i < HEALTHY) yaml += `    healthcheck:\n      test: ["CMD", "true"]\n      interval: 1s\n`;
}
const file = join(dir, "docker-compose.yml");
writeFileSync(file, yaml);

const compose = {
  berth: (host, args) => ({
    cmd: process.execPath,
    args: [join(REPO, "apps/cli/bin/berth.js"), "compose", "-f", file, "-p", "bench", ...args],
    env: { DOCKER_HOST: host, BERTH_NO_AUTOSTART: "1" },
  }),
  "docker-compose": (host, args) => ({
    cmd: "docker-compose",
    args: ["-f", file, "-p", "bench", ...args],
    env: { DOCKER_HOST: host, COMPOSE_HTTP_TIMEOUT: "120" },
  }),
};
const haveV1 = spawnSync("docker-compose", ["version"], { encoding: "utf8" }).status === 0;

let tainted = false;
/**
 * run runs one compose command. When apps/cli/dist is being rebuilt under it by a test suite
 * (a lazily imported chunk missing for a moment; chunks load before any request), it runs the
 * command again and marks the sample as tainted so that it is not counted.
 */
function run(c) {
  for (let i = 0; ; i++) {
    const r = spawnSync(c.cmd, c.args, { env: { ...process.env, ...c.env }, encoding: "utf8", cwd: dir });
    if (r.status === 0) return;
    if (i < 5 && /ERR_MODULE_NOT_FOUND|Cannot find module/.test(r.stderr ?? "")) {
      tainted = true;
      spawnSync("sleep", ["2"]);
      continue;
    }
    throw new Error(`${c.cmd} ${c.args.join(" ")}: ${r.stderr || r.error}`);
  }
}

/** ready polls the daemon until all SERVICES containers run and the checked ones are healthy. */
function ready(host) {
  for (let i = 0; i < 3000; i++) {
    const r = spawnSync(
      DOCKER,
      ["ps", "--filter", "label=com.docker.compose.project=bench", "--format", "{{.Status}}"],
      { env: { ...process.env, DOCKER_HOST: host }, encoding: "utf8" },
    );
    const lines = r.stdout.trim().split("\n").filter(Boolean);
    const healthy = lines.filter((l) => l.includes("(healthy)")).length;
    if (lines.length === SERVICES && lines.every((l) => l.startsWith("Up")) && healthy === HEALTHY) return;
    spawnSync("sleep", ["0.05"]);
  }
  throw new Error(`project not ready on ${host}`);
}

const cases = [
  ["berth compose -> berthd", "berth", "berthd"],
  ...(haveV1 ? [["docker-compose 1.29 -> dockerd", "docker-compose", "dockerd"]] : []),
  ["berth compose -> dockerd", "berth", "dockerd"],
  ...(haveV1 ? [["docker-compose 1.29 -> berthd", "docker-compose", "berthd"]] : []),
];
const results = {};
for (const [name] of cases) results[name] = { up: [], down: [], error: undefined };
for (let it = 0; it < N; it++) {
  for (const [name, tool, daemon] of cases) {
    const res = results[name];
    if (res.error) continue;
    const host = sockets[daemon];
    try {
      tainted = false;
      let t0 = process.hrtime.bigint();
      run(compose[tool](host, ["up", "-d"]));
      ready(host);
      if (!tainted) res.up.push(ms(t0));
      tainted = false;
      t0 = process.hrtime.bigint();
      run(compose[tool](host, ["down"]));
      if (!tainted) res.down.push(ms(t0));
    } catch (err) {
      res.error = String(err.message ?? err).slice(0, 400);
      log(`${name}: ${res.error}`);
      try {
        run(compose[tool](host, ["down"]));
      } catch {}
    }
  }
  log(`compose iteration ${it + 1}/${N}`);
}

let out = `\n### compose: up -d of ${SERVICES} services (${HEALTHY} with healthchecks) until ready, then down (workload ${WORKLOAD}, median of ${N})\n\n`;
out += "| case | up (ms) | down (ms) | note |\n| --- | ---: | ---: | --- |\n";
for (const [name] of cases) {
  const r = results[name];
  out += `| ${name} | ${median(r.up).toFixed(0)} | ${median(r.down).toFixed(0)} | ${r.error ? `failed: ${r.error.split("\n")[0]}` : "ok"} |\n`;
}
const b = results["berth compose -> berthd"];
const d = results["docker-compose 1.29 -> dockerd"];
if (b && d && !b.error && !d.error) {
  const ratio = (median(b.up) + median(b.down)) / (median(d.up) + median(d.down));
  out += `\nberth/berthd over docker-compose/dockerd (up + down): ${ratio.toFixed(2)} (target <= 0.5)\n`;
}
if (!haveV1)
  out += "\n(docker-compose is not installed: `apt-get install docker-compose` for the reference cases)\n";
process.stdout.write(out);
mkdirSync(join(REPO, "bench", "results"), { recursive: true });
writeFileSync(
  join(REPO, "bench", "results", `compose-${new Date().toISOString().replace(/[:.]/g, "-")}.json`),
  JSON.stringify({ services: SERVICES, healthy: HEALTHY, workload: WORKLOAD, n: N, results }, null, 2),
);
