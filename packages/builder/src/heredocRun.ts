import { chompHeredocContent, type InlineFile, parseHeredoc } from "@berth/dockerfile";

/** HeredocRun is what a RUN with heredocs executes: the command line and any script files to mount. */
export interface HeredocRun {
  /** The command, before the shell is prepended (shell form). */
  readonly cmdLine: string[];
  /** A script to mount read-only at `/dev/pipes/<name>` (mode 0755), for a `#!` heredoc. */
  readonly script?: { readonly name: string; readonly data: string };
}

/** Where a `#!` heredoc script is mounted in the RUN container (BuildKit's path). */
export const HEREDOC_SCRIPT_DIR = "/dev/pipes";

/**
 * heredocRun turns a shell-form RUN with heredocs into what runs, as BuildKit's dockerfile2llb
 * does. When the whole command is one heredoc (`RUN <<EOF`), its body is the script: with a
 * `#!` first line it becomes an executable file at `/dev/pipes/<name>` that the shell runs (so
 * the `#!` line picks the interpreter), otherwise the body itself is the shell's command string.
 * `<<-` strips leading tabs first. Otherwise (`RUN cat <<EOF > f`, several heredocs on a line)
 * the line and every body followed by its delimiter are handed to the shell, which expands (or,
 * for a quoted delimiter, does not) and strips tabs itself.
 */
export function heredocRun(cmdLine: readonly string[], files: readonly InlineFile[]): HeredocRun {
  const line = cmdLine[0] ?? "";
  const first = files[0];
  if (first === undefined) return { cmdLine: [...cmdLine] };
  if (files.length === 1 && cmdLine.length === 1 && parseHeredoc(line.trim()) !== undefined) {
    const data = first.chomp ? chompHeredocContent(first.data) : first.data;
    if (data.startsWith("#!")) {
      return { cmdLine: [`${HEREDOC_SCRIPT_DIR}/${first.name}`], script: { name: first.name, data } };
    }
    return { cmdLine: [data] };
  }
  let full = line;
  for (const f of files) full += `\n${f.data}${f.name}`;
  return { cmdLine: [full] };
}
