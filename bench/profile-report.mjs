// Summarises the strace log written by bench/profile.sh: per timed client run, every process the
// daemon spawned (first execve to exit) and every accepted API connection, as offsets from the
// client's start. usage: node profile-report.mjs STRACE_LOG MARKS_FILE CLIENT
import { readFileSync } from "node:fs";

const [logPath, marksPath, client = "docker"] = process.argv.slice(2);
if (!logPath || !marksPath) throw new Error("usage: profile-report.mjs STRACE_LOG MARKS_FILE [CLIENT]");

/** pid -> { start, end, argv } for processes that called execve successfully. */
const procs = new Map();
const accepts = [];
for (const line of readFileSync(logPath, "utf8").split("\n")) {
  const m = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/.exec(line);
  if (!m) continue;
  const pid = Number(m[1]);
  const t = Number(m[2]);
  const rest = m[3];
  if (rest.startsWith("execve(") && !/= -1 /.test(rest)) {
    const argv = [...rest.matchAll(/"((?:[^"\\]|\\.)*)"/g)].slice(1).map((x) => x[1]);
    const p = procs.get(pid) ?? { start: t, end: undefined, chain: [] };
    p.chain.push(argv);
    procs.set(pid, p);
  } else if (rest.startsWith("+++ exited") || rest.startsWith("+++ killed")) {
    const p = procs.get(pid);
    if (p) p.end = t;
  } else if (rest.startsWith("accept4(") && /= \d+$/.test(rest)) {
    accepts.push(t);
  }
}

/** label names a process by what it finally ran, e.g. "runc create" or "mount". */
function label(p) {
  const argv = p.chain[p.chain.length - 1] ?? [];
  const bin = (argv[0] ?? "?").split("/").pop();
  const wrapped =
    p.chain.length > 1
      ? ` (via ${p.chain
          .slice(0, -1)
          .map((a) => (a[0] ?? "?").split("/").pop())
          .join(" -> ")})`
      : "";
  if (bin === "runc") {
    const sub = argv.slice(1).find((a) => !a.startsWith("-")) ?? "";
    return `runc ${sub}${wrapped}`;
  }
  return `${bin}${wrapped}`;
}

const marks = readFileSync(marksPath, "utf8")
  .trim()
  .split("\n")
  .map((l) => l.split(" ").map(Number));
const ms = (x) => (x * 1000).toFixed(1).padStart(7);
let run = 0;
for (const [t0, t1] of marks) {
  run++;
  console.log(`\n${client} run --rm busybox true #${run}: ${ms(t1 - t0)} ms end to end (client start = 0)`);
  const events = [];
  for (const t of accepts) if (t >= t0 && t <= t1) events.push({ t, text: "API connection accepted" });
  for (const [pid, p] of procs) {
    if (p.start < t0 || p.start > t1) continue;
    const dur = p.end !== undefined ? `${ms(p.end - p.start)} ms` : "still running";
    events.push({ t: p.start, text: `${label(p)} [pid ${pid}] ${dur}` });
  }
  events.sort((a, b) => a.t - b.t);
  for (const e of events) console.log(`  +${ms(e.t - t0)} ms  ${e.text}`);
}
