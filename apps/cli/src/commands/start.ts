/**
 * `berth start`: start containers one by one printing each name; with `-a`/`-i` inspect the
 * single container, attach, wait (`next-exit`, or `removed` for --rm containers), start and
 * stream its output, exiting with its code (engine-api-traces/13 and 14).
 *
 * @since 0.1.0
 */
import { proxySignals, streamAttach, TerminalSession } from "../AttachIO.ts";
import { type CommandModule, StatusError } from "../Command.ts";
import { describeError } from "../daemonError.ts";
import { bool, str } from "../FlagParser.ts";

/** command is `berth start`. */
export const command: CommandModule = {
  spec: {
    name: "start",
    use: "[OPTIONS] CONTAINER [CONTAINER...]",
    short: "Start one or more stopped containers",
    aliases: ["container start", "start"],
    flags: [
      { name: "attach", short: "a", type: "bool", usage: "Attach STDOUT/STDERR and forward signals" },
      { name: "detach-keys", type: "string", usage: "Override the key sequence for detaching a container" },
      { name: "interactive", short: "i", type: "bool", usage: "Attach container's STDIN" },
    ],
    args: { kind: "min", n: 1 },
  },
  async run(inv) {
    const p = inv.parsed;
    const client = await inv.client();
    if (!bool(p, "attach") && !bool(p, "interactive")) {
      const failed: string[] = [];
      for (const name of p.args) {
        try {
          await client.containerStart(name);
          process.stdout.write(`${name}\n`);
        } catch (err) {
          process.stderr.write(`${describeError(err)}\n`);
          failed.push(name);
        }
      }
      if (failed.length > 0)
        throw new StatusError(`Error: failed to start containers: ${failed.join(", ")}`, 1);
      return 0;
    }
    if (p.args.length > 1)
      throw new StatusError("you cannot start and attach multiple containers at once", 1);
    const c = await client.containerInspect(p.args[0] as string);
    const id = c.Id ?? (p.args[0] as string);
    const tty = c.Config?.Tty === true;
    const stdin = bool(p, "interactive") && c.Config?.OpenStdin === true;
    const detachKeys = str(p, "detach-keys");
    const undoSignals = tty ? () => {} : proxySignals(client, id);
    const term = new TerminalSession();
    try {
      const attach = await client.containerAttach(id, {
        stream: true,
        stdin,
        stdout: true,
        stderr: true,
        tty,
        ...(detachKeys ? { detachKeys } : {}),
      });
      const wait = client.containerWait(id, {
        condition: c.HostConfig?.AutoRemove ? "removed" : "next-exit",
      });
      wait.catch(() => {});
      if (tty) term.start(stdin);
      try {
        await client.containerStart(id);
      } catch (err) {
        attach.close();
        term.restore();
        if (c.HostConfig?.AutoRemove) await wait.catch(() => {});
        throw err;
      }
      if (tty) term.monitorSize(client, id);
      const result = await streamAttach({ client, id, attach, tty, stdin, detachKeys });
      term.restore();
      if (result.detached) return 0;
      const status = await wait;
      return status.StatusCode;
    } finally {
      term.restore();
      undoSignals();
    }
  },
};
