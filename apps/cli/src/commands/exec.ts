/**
 * `berth exec`: the request sequence of docker's exec (engine-api-traces/05-exec.txt):
 * `GET /containers/{name}/json` (must exist; the daemon answers 409 when it does not run), `POST /containers/{name}/exec`,
 * `POST /exec/{id}/start` hijacked (or `Detach: true` for `-d`), `POST /exec/{id}/resize` for
 * `-t` on a terminal, then `GET /exec/{id}/json` for the exit code. Exit codes as docker: the
 * exec's own code; daemon errors exit 1 with `Error response from daemon: ...`.
 *
 * @since 0.1.0
 */
import { streamAttach, TerminalSession } from "../AttachIO.ts";
import { type CommandModule, StatusError } from "../Command.ts";
import { expandEnvFlag, readEnvFile } from "../EnvFile.ts";
import { bool, list, str } from "../FlagParser.ts";

/** command is `berth exec`. */
export const command: CommandModule = {
  spec: {
    name: "exec",
    use: "[OPTIONS] CONTAINER COMMAND [ARG...]",
    short: "Execute a command in a running container",
    aliases: ["container exec", "exec"],
    flags: [
      { name: "detach", short: "d", type: "bool", usage: "Detached mode: run command in the background" },
      { name: "detach-keys", type: "string", usage: "Override the key sequence for detaching a container" },
      { name: "env", short: "e", type: "list", usage: "Set environment variables" },
      { name: "env-file", type: "list", usage: "Read in a file of environment variables" },
      { name: "interactive", short: "i", type: "bool", usage: "Keep STDIN open even if not attached" },
      { name: "privileged", type: "bool", usage: "Give extended privileges to the command" },
      { name: "tty", short: "t", type: "bool", usage: "Allocate a pseudo-TTY" },
      {
        name: "user",
        short: "u",
        type: "string",
        usage: 'Username or UID (format: "<name|uid>[:<group|gid>]")',
      },
      { name: "workdir", short: "w", type: "string", usage: "Working directory inside the container" },
    ],
    args: { kind: "min", n: 2 },
    interspersed: false,
  },
  async run(inv) {
    const p = inv.parsed;
    const [container, ...cmd] = p.args as [string, ...string[]];
    const detach = bool(p, "detach");
    const tty = bool(p, "tty");
    const interactive = bool(p, "interactive");
    if (!detach && tty && interactive && !process.stdin.isTTY) {
      throw new StatusError("the input device is not a TTY", 1);
    }
    const env: string[] = [];
    for (const f of list(p, "env-file")) env.push(...readEnvFile(f));
    for (const e of list(p, "env")) env.push(expandEnvFlag(e));
    const client = await inv.client();
    await client.containerInspect(container); // docker's existence check: `No such container: x`
    const [h, w] = TerminalSession.size();
    const { Id: execId } = await client.execCreate(container, {
      User: str(p, "user") ?? "",
      Privileged: bool(p, "privileged"),
      Tty: tty,
      AttachStdin: interactive && !detach,
      AttachStdout: !detach,
      AttachStderr: !detach,
      DetachKeys: str(p, "detach-keys") ?? "",
      Env: env,
      WorkingDir: str(p, "workdir") ?? "",
      Cmd: cmd,
      ...(tty && h > 0 && w > 0 ? { ConsoleSize: [h, w] } : {}),
    });
    if (detach) {
      await client.execStart(execId, { tty, detach: true });
      return 0;
    }
    const attach = await client.execStart(execId, { tty });
    if (!attach) return 0;
    const term = new TerminalSession();
    try {
      if (tty) {
        term.start(interactive);
        term.monitorSize(client, execId, (size) => client.execResize(execId, size));
      }
      await streamAttach({
        client,
        id: container,
        attach,
        tty,
        stdin: interactive,
        detachKeys: str(p, "detach-keys"),
      });
    } finally {
      term.restore();
    }
    const result = await client.execInspect(execId);
    return result.ExitCode ?? 0;
  },
};
