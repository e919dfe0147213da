// Services part of bench/run.sh (issue 5): throughput and latency through a published port
// (berthd's in-process proxy against dockerd's docker-proxy), 50 detached starts one after the
// other, and `ps` latency with 50 and 100 running containers. run.sh starts both daemons and
// passes their sockets in BENCH_* variables; traffic goes only to 127.0.0.1.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";

const env = (k) => {
  const v = process.env[k];
  if (v === undefined || v === "") throw new Error(`services.mjs: ${k} is not set (run bench/run.sh)`);
  return v;
};
const T = env("BENCH_TMP");
const DOCKER = env("BENCH_DOCKER");
const REPO = env("BENCH_REPO");
const STARTS = Number(process.env.BENCH_STARTS ?? 50);
const PS_N = Number(process.env.BENCH_PS_N ?? 10);
const XFER_MB = Number(process.env.BENCH_XFER_MB ?? 256);
const XFER_N = Number(process.env.BENCH_XFER_N ?? 5);
const REQS = Number(process.env.BENCH_REQS ?? 300);
const daemons = [
  ["dockerd", `unix://${T}/docker.sock`],
  ["berthd", `unix://${T}/b/berth.sock`],
];

const log = (msg) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} bench: ${msg}\n`);
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
function docker(sock, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(DOCKER, args, { env: { ...process.env, DOCKER_HOST: sock }, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`docker ${args.join(" ")} (${sock}): ${r.stderr}`);
  return { ms: ms(t0), out: r.stdout.trim() };
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const sleep = (t) => new Promise((r) => setTimeout(r, t));

/** get fetches a path from 127.0.0.1:port on a new connection; resolves with bytes and ms. */
function get(port, path) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = request({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      let n = 0;
      res.on("data", (c) => {
        n += c.length;
      });
      res.on("end", () => resolve({ bytes: n, ms: ms(t0), status: res.statusCode }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function waitUp(port) {
  for (let i = 0; i < 200; i++) {
    try {
      const r = await get(port, "/small");
      if (r.status === 200) return;
    } catch {}
    await sleep(50);
  }
  throw new Error(`nothing answers on 127.0.0.1:${port}`);
}

const results = { port: {}, starts: {}, ps: {} };

// ------------------------------------------------------------ published port
// busybox httpd serves a big file (from the container's tmpfs) and a small one.
const serve = [
  "sh",
  "-c",
  `mkdir -p /www && echo ok > /www/small && dd if=/dev/zero of=/www/big bs=1M count=${XFER_MB} 2>/dev/null && exec httpd -f -p 80 -h /www`,
];
const ports = { dockerd: 0, berthd: 0 };
for (const [name, sock] of daemons) {
  const id = docker(sock, [
    "run",
    "-d",
    "--tmpfs",
    `/www:size=${XFER_MB + 16}m`,
    "-p",
    "127.0.0.1::80",
    "busybox",
    ...serve,
  ]).out;
  const port = Number(docker(sock, ["port", id, "80"]).out.split(":").pop());
  ports[name] = port;
  await waitUp(port);
  log(`${name}: web server on 127.0.0.1:${port}`);
  results.port[name] = { id };
}
for (const [name] of daemons) {
  const port = ports[name];
  const rates = [];
  for (let i = 0; i < XFER_N; i++) {
    // curl as the client: a Node client would put its own per-chunk cost into the measurement.
    const r = spawnSync(
      "curl",
      ["-s", "-o", "/dev/null", "-w", "%{size_download} %{time_total}", `http://127.0.0.1:${port}/big`],
      {
        encoding: "utf8",
      },
    );
    const [bytes, secs] = r.stdout.trim().split(" ").map(Number);
    if (r.status !== 0 || bytes !== XFER_MB * 2 ** 20)
      throw new Error(`${name}: curl got ${r.stdout} ${r.stderr}`);
    rates.push(XFER_MB / secs);
  }
  const lat = [];
  for (let i = 0; i < REQS; i++) lat.push((await get(port, "/small")).ms);
  results.port[name] = { ...results.port[name], mbPerS: median(rates), rates, reqMedianMs: median(lat) };
  log(`${name}: ${median(rates).toFixed(0)} MB/s, small request ${median(lat).toFixed(2)} ms`);
}
for (const [name, sock] of daemons) docker(sock, ["rm", "-f", results.port[name].id]);

// ------------------------------------------------------------ starts and ps
// Interleaved, one daemon's run then the other's (order alternating), so both see the same load
// from whatever else the machine does; each daemon's total is the sum of its own runs. `ps` is
// measured with both daemons holding the same number of containers, samples interleaved too.
const ids = { dockerd: [], berthd: [] };
const order = (i) => (i % 2 === 0 ? daemons : [...daemons].reverse());
const startMany = (n, timed) => {
  for (let i = 0; i < n; i++) {
    for (const [name, sock] of order(i)) {
      const r = docker(sock, ["run", "-d", "busybox", "sleep", "1000"]);
      ids[name].push(r.out);
      if (timed) results.starts[name].totalMs += r.ms;
    }
  }
};
const psBoth = (n) => {
  const xs = { dockerd: [], berthd: [] };
  for (let i = 0; i < PS_N; i++) {
    for (const [name, sock] of order(i)) {
      const r = docker(sock, ["ps"]);
      if (r.out.split("\n").length !== n + 1)
        throw new Error(`${name}: ps shows ${r.out.split("\n").length - 1}, want ${n}`);
      xs[name].push(r.ms);
    }
  }
  for (const [name] of daemons) {
    results.ps[name] ??= {};
    results.ps[name][n] = median(xs[name]);
    results.ps[name][`${n}samples`] = xs[name];
  }
  log(
    `ps with ${n}: dockerd ${results.ps.dockerd[n].toFixed(0)} ms, berthd ${results.ps.berthd[n].toFixed(0)} ms`,
  );
};
for (const [name] of daemons) results.starts[name] = { n: STARTS, totalMs: 0 };
startMany(STARTS, true);
for (const [name] of daemons)
  log(`${name}: ${STARTS} detached starts in ${(results.starts[name].totalMs / 1000).toFixed(1)} s`);
psBoth(STARTS);
startMany(STARTS, false);
psBoth(2 * STARTS);
for (const [name, sock] of daemons) docker(sock, ["rm", "-f", ...ids[name]]);

// ------------------------------------------------------------ report
const p = results.port;
const rows = [
  [
    "port throughput MB/s (higher is better)",
    p.dockerd.mbPerS,
    p.berthd.mbPerS,
    p.berthd.mbPerS / p.dockerd.mbPerS,
    ">= 1",
  ],
  [
    "small request through the port, ms",
    p.dockerd.reqMedianMs,
    p.berthd.reqMedianMs,
    p.berthd.reqMedianMs / p.dockerd.reqMedianMs,
    "",
  ],
  [
    `${STARTS} detached starts, s`,
    results.starts.dockerd.totalMs / 1000,
    results.starts.berthd.totalMs / 1000,
    results.starts.berthd.totalMs / results.starts.dockerd.totalMs,
    "<= 0.5",
  ],
  [
    `ps with ${STARTS} running, ms`,
    results.ps.dockerd[STARTS],
    results.ps.berthd[STARTS],
    results.ps.berthd[STARTS] / results.ps.dockerd[STARTS],
    "<= 1",
  ],
  [
    `ps with ${2 * STARTS} running, ms`,
    results.ps.dockerd[2 * STARTS],
    results.ps.berthd[2 * STARTS],
    results.ps.berthd[2 * STARTS] / results.ps.dockerd[2 * STARTS],
    "<= 1",
  ],
];
const lines = [
  "| services case | dockerd | berthd | berthd / dockerd | target |",
  "| --- | ---: | ---: | ---: | --- |",
];
for (const [what, d, b, ratio, target] of rows)
  lines.push(`| ${what} | ${d.toFixed(2)} | ${b.toFixed(2)} | ${ratio.toFixed(2)} | ${target} |`);
const table = lines.join("\n");
process.stdout.write(`\n${table}\n\n`);
const out = join(REPO, "bench/results", `services-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), results, table }, null, 2)}\n`);
spawnSync(join(REPO, "node_modules/.bin/biome"), ["format", "--write", out], { stdio: "ignore" });
log(`wrote ${out}`);
