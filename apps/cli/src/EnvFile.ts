/**
 * EnvFile: docker's `--env-file` / `--label-file` parsing (opts.ParseEnvFile) and `-e` handling.
 *
 * Lines are `KEY=value` (value passed through untrimmed), `# comments` and blank lines are skipped,
 * a bare `KEY` takes its value from the CLI's environment or is dropped when unset there.
 *
 * @since 0.1.0
 */
import { readFileSync } from "node:fs";

/** parseEnvFileContent parses the text of an env file; `lookup` resolves bare keys. */
export function parseEnvFileContent(
  filename: string,
  content: string,
  lookup: (key: string) => string | undefined,
): string[] {
  const out: string[] = [];
  const lines = content.replace(/^\uFEFF/, "").split(/\r?\n/);
  if (lines[lines.length - 1] === "") lines.pop();
  for (const raw of lines) {
    const line = raw.replace(/^\s+/, "");
    if (line.length === 0 || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    const variable = (eq >= 0 ? line.slice(0, eq) : line).replace(/^[ \t]+/, "");
    if (/[ \t]/.test(variable)) {
      throw new Error(`poorly formatted environment: variable '${variable}' contains whitespaces`);
    }
    if (variable.length === 0) {
      throw new Error(`poorly formatted environment: no variable name on line '${line}'`);
    }
    if (eq >= 0) {
      out.push(`${variable}=${line.slice(eq + 1)}`);
    } else {
      const v = lookup(variable.trim());
      if (v !== undefined) out.push(`${variable.trim()}=${v}`);
    }
  }
  void filename;
  return out;
}

/** readEnvFile reads and parses an env file; errors read like Go's (`open x: no such file or directory`). */
export function readEnvFile(filename: string, env: NodeJS.ProcessEnv = process.env): string[] {
  let content: string;
  try {
    content = readFileSync(filename, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT"
        ? "no such file or directory"
        : code === "EACCES"
          ? "permission denied"
          : code === "EISDIR"
            ? "is a directory"
            : (err as Error).message;
    throw new Error(`open ${filename}: ${reason}`);
  }
  return parseEnvFileContent(filename, content, (k) => env[k]);
}

/** expandEnvFlag applies docker's ValidateEnv to one `-e` value: a bare `KEY` takes the CLI's value. */
export function expandEnvFlag(value: string, env: NodeJS.ProcessEnv = process.env): string {
  if (value.includes("=")) return value;
  const v = env[value];
  return v === undefined ? value : `${value}=${v}`;
}
