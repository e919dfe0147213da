/**
 * goQuoteList formats a string list the way Go's `fmt.Sprintf("%q", []string{...})` does, which
 * is how docker's classic builder writes CMD, ENTRYPOINT and HEALTHCHECK into history:
 * `["sh" "-c" "echo hi"]`.
 */
export function goQuoteList(list: readonly string[]): string {
  return `[${list.map((s) => JSON.stringify(s)).join(" ")}]`;
}

/** goList formats a list like Go's `%v` of a []string: `[/bin/bash -c]`. */
export function goList(list: readonly string[]): string {
  return `[${list.join(" ")}]`;
}

/**
 * nopCreatedBy is the history `created_by` of a config-only step as docker's classic builder
 * writes it: `<shell> #(nop)  <text>` (two spaces: the comment is its own Cmd element) for
 * ENV, LABEL, CMD, ..., and `<shell> #(nop) <text>` (one space) for WORKDIR, COPY and ADD.
 */
export function nopCreatedBy(shell: readonly string[], text: string, separateElement = true): string {
  return separateElement ? `${shell.join(" ")} #(nop)  ${text}` : `${shell.join(" ")} #(nop) ${text}`;
}

/**
 * runCreatedBy is a RUN's `created_by`: the command with its shell, prefixed by the build args in
 * effect as docker writes them (`|2 A=1 B=2 /bin/sh -c make`), so that they are part of the
 * history and of the cache key.
 */
export function runCreatedBy(args: readonly string[], buildArgs: readonly string[]): string {
  const cmd = args.join(" ");
  if (buildArgs.length === 0) return cmd;
  return `|${buildArgs.length} ${[...buildArgs].sort().join(" ")} ${cmd}`;
}
