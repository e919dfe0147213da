import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { errnoCode, Internal, InvalidArgument } from "@berth/errdefs";

/** TopReport is docker's `GET /containers/{id}/top` answer. */
export interface TopReport {
  Titles: string[];
  Processes: string[][];
}

/** The cgroup v1 controllers whose hierarchy lists a container's processes, first found wins. */
const PROC_CONTROLLERS = ["pids", "memory", "cpu", "cpuacct", "freezer", "systemd"];

/**
 * cgroupPids lists the host PIDs of every process in a cgroup (`cgroupsPath` as in the OCI spec,
 * e.g. `/berth/<id>`), from `cgroup.procs` of the first v1 controller that has it, else the
 * unified (v2) hierarchy. Empty when the cgroup does not exist (the container is not running).
 */
export async function cgroupPids(cgroupsPath: string, fsRoot = "/sys/fs/cgroup"): Promise<number[]> {
  const candidates = [
    ...PROC_CONTROLLERS.map((c) => `${fsRoot}/${c}${cgroupsPath}/cgroup.procs`),
    `${fsRoot}/unified${cgroupsPath}/cgroup.procs`,
    `${fsRoot}${cgroupsPath}/cgroup.procs`,
  ];
  for (const file of candidates) {
    try {
      const text = await readFile(file, "utf8");
      return text
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map(Number)
        .filter((n) => Number.isInteger(n) && n > 0);
    } catch (err) {
      if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") continue;
      throw err;
    }
  }
  return [];
}

/**
 * validatePsArgs refuses `ps` options that rename the PID column (`-o pid=PROCESS`), as dockerd:
 * without a `PID` title the output cannot be filtered to the container's processes.
 */
export function validatePsArgs(psArgs: string): void {
  for (const m of psArgs.matchAll(/\s+(\S*)=\s*(PID\S*)/g)) {
    const k = m[1] ?? "";
    if (k !== "pid") throw new InvalidArgument(`specifying "${k}=${m[2]}" is not allowed`);
  }
}

/**
 * parsePsOutput keeps the lines of `ps` output whose PID column is one of `pids`. The last
 * column (the command) may contain blanks: extra fields are joined back into it, as dockerd does.
 */
export function parsePsOutput(output: string, pids: readonly number[]): TopReport {
  const lines = output.split("\n");
  const titles = (lines[0] ?? "")
    .trim()
    .split(/[ \t]+/)
    .filter(Boolean);
  const pidIndex = titles.indexOf("PID");
  if (pidIndex < 0) throw new Internal("Couldn't find PID field in ps output");
  const want = new Set(pids);
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    if (line.trim() === "") continue;
    const fields = line.trim().split(/[ \t]+/);
    const field = fields[pidIndex] ?? "";
    const pid = Number(field);
    if (!Number.isInteger(pid)) throw new Internal(`unexpected pid '${field}' in ps output`);
    if (!want.has(pid)) continue;
    const n = titles.length;
    processes.push(fields.length > n ? [...fields.slice(0, n - 1), fields.slice(n - 1).join(" ")] : fields);
  }
  return { Titles: titles, Processes: processes };
}

/**
 * runPs runs the host's `ps` with docker's `ps_args` (default `-ef`), split on spaces, first with
 * `-q<pids>` appended and, as dockerd, once more without it when `ps` refuses the combination
 * (options such as `f`). Only the lines of `pids` are kept.
 */
export async function runPs(psArgs: string, pids: readonly number[]): Promise<TopReport> {
  const argsText = psArgs === "" ? "-ef" : psArgs;
  validatePsArgs(argsText);
  const args = argsText.split(" ").filter((a) => a !== "");
  let out: string;
  try {
    out = await ps([...args, `-q${pids.join(",")}`]);
  } catch {
    try {
      out = await ps(args);
    } catch (err) {
      const first = String((err as { stderr?: string }).stderr ?? "").split("\n")[0] ?? "";
      throw new InvalidArgument(first !== "" ? first : `ps: ${(err as Error).message}`);
    }
  }
  return parsePsOutput(out, pids);
}

function ps(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("ps", args, { maxBuffer: 16 * 1024 * 1024, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stderr: String(stderr) }));
      else resolve(String(stdout));
    });
  });
}
