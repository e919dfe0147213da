import { execFile } from "node:child_process";
import { Internal, Unavailable } from "@berth/errdefs";

/** Result of {@link run}: the command's exit code and its captured output. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Limit on a helper command's captured output (ip -j route show table all on a busy host stays far below). */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/**
 * run executes `cmd args...` without a shell and resolves with its exit code and output, whatever
 * the code. It rejects only when the program cannot be started (Unavailable, e.g. iptables missing).
 */
export function run(cmd: string, args: readonly string[], opts: { input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { maxBuffer: MAX_OUTPUT_BYTES, encoding: "utf8" },
      (err, stdout, stderr) => {
        if (err && typeof (err as { code?: unknown }).code === "string") {
          reject(new Unavailable(`cannot run ${cmd}: ${err.message}`, { cause: err }));
          return;
        }
        const code = err ? Number((err as { code?: unknown }).code ?? 1) : 0;
        resolve({ code: Number.isFinite(code) ? code : 1, stdout, stderr });
      },
    );
    child.stdin?.on("error", () => {}); // EPIPE when the program exits without reading; its exit code tells
    child.stdin?.end(opts.input ?? "");
  });
}

/** commandLine renders a command for error messages. */
export function commandLine(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(" ");
}

/** failure builds the Internal error for a command that exited non-zero, quoting the command and its stderr. */
export function failure(cmd: string, args: readonly string[], r: RunResult): Internal {
  const detail = (r.stderr || r.stdout).trim();
  return new Internal(`${commandLine(cmd, args)} exited with status ${r.code}: ${detail || "no output"}`);
}

/** runOk (optionally feeding `input` on stdin) executes the command and rejects with {@link failure} unless it exits 0; resolves with stdout. */
export async function runOk(
  cmd: string,
  args: readonly string[],
  opts: { input?: string } = {},
): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw failure(cmd, args, r);
  return r.stdout;
}
