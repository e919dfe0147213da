import { Conflict, type ErrorDetails, Internal, InvalidArgument, NotFound } from "@berth/errdefs";

/**
 * runcMessage extracts the error text from runc's stderr, which is JSON lines
 * with `--log-format=json` (`{"level":"error","msg":"..."}`) or logrus text
 * (`time=... level=error msg="..."`); other text is returned trimmed.
 */
export function runcMessage(stderr: string): string {
  const msgs: string[] = [];
  for (const line of stderr.split("\n")) {
    const t = line.trim();
    if (t === "") continue;
    if (t.startsWith("{")) {
      try {
        const j = JSON.parse(t) as { level?: string; msg?: string };
        if (j.msg !== undefined && (j.level === undefined || j.level === "error" || j.level === "fatal")) {
          msgs.push(j.msg);
        }
        continue;
      } catch {
        // fall through to text handling
      }
    }
    const m = /level=(?:error|fatal) msg="((?:[^"\\]|\\.)*)"/.exec(t);
    if (m) {
      msgs.push(JSON.parse(`"${m[1]}"`) as string);
      continue;
    }
    if (!/level=(debug|info|warning)/.test(t)) msgs.push(t);
  }
  return msgs.join("; ") || stderr.trim();
}

/**
 * ociError builds the error docker reports for a failed runtime operation:
 * `OCI runtime <op> failed: <runc message>: unknown`. A missing or
 * non-executable entrypoint is the caller's mistake (InvalidArgument with code
 * `ERR_EXEC_NOT_FOUND` -> exit 127, or `ERR_EXEC_PERMISSION` -> exit 126, as
 * docker sets them); anything else is Internal.
 */
export function ociError(op: string, runcText: string, cause?: unknown): Error {
  const message = `OCI runtime ${op} failed: ${runcText}: unknown`;
  const details: ErrorDetails = cause === undefined ? {} : { cause };
  if (/executable file not found|no such file or directory/.test(runcText)) {
    return new InvalidArgument(message, { ...details, code: "ERR_EXEC_NOT_FOUND" });
  }
  if (/permission denied|exec format error/.test(runcText)) {
    return new InvalidArgument(message, { ...details, code: "ERR_EXEC_PERMISSION" });
  }
  if (/not a directory|invalid argument|unknown capability/.test(runcText)) {
    return new InvalidArgument(message, details);
  }
  return new Internal(message, details);
}

/** runcCommandError maps a failed `runc <verb> <id>` to an error kind by runc's message. */
export function runcCommandError(verb: string, id: string, stderr: string, cause?: unknown): Error {
  const msg = runcMessage(stderr);
  const details: ErrorDetails = cause === undefined ? {} : { cause };
  if (/container does not exist|not exist/.test(msg))
    return new NotFound(`no such container: ${id}`, details);
  if (/not running|is paused|is not paused|stopped/.test(msg)) {
    return new Conflict(`cannot ${verb} container ${id}: ${msg}`, details);
  }
  return new Internal(`runc ${verb} ${id} failed: ${msg}`, details);
}
