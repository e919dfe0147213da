/**
 * `berth run`: create (pulling the image if it is missing), attach unless `-d`, wait
 * (`removed` with --rm, else `next-exit`), start, stream the output, exit with the container's
 * code: the same request sequence as docker v28 (engine-api-traces/02 and 04).
 *
 * @since 0.1.0
 */
import type { AttachStream } from "@berth/client";
import { proxySignals, streamAttach, TerminalSession } from "../AttachIO.ts";
import { type CommandModule, StatusError } from "../Command.ts";
import { bool, str } from "../FlagParser.ts";
import { RUN_FLAGS } from "../RunConfig.ts";
import { createContainer, parseCreateRequest, runStatusError } from "./createContainer.ts";

/** command is `berth run`. */
export const command: CommandModule = {
  spec: {
    name: "run",
    use: "[OPTIONS] IMAGE [COMMAND] [ARG...]",
    short: "Create and run a new container from an image",
    aliases: ["container run", "run"],
    flags: RUN_FLAGS,
    args: { kind: "min", n: 1 },
    interspersed: false,
    ownsShortH: true,
  },
  async run(inv) {
    const p = inv.parsed;
    const detach = bool(p, "detach");
    const req = parseCreateRequest(p, detach, "run");
    if (!detach && req.tty && req.attachStdin && !process.stdin.isTTY) {
      throw new StatusError("the input device is not a TTY", 1);
    }
    const client = await inv.client();
    const id = await createContainer(client, req, str(p, "pull") ?? "missing", bool(p, "quiet"), "run");

    const attachAny = req.attachStdin || req.attachStdout || req.attachStderr;
    const sigProxy = p.flags["sig-proxy"] !== false && !req.tty;
    const undoSignals = sigProxy ? proxySignals(client, id) : () => {};
    const term = new TerminalSession();
    try {
      if (!attachAny) process.stdout.write(`${id}\n`);
      let attach: AttachStream | undefined;
      if (attachAny) {
        try {
          attach = await client.containerAttach(id, {
            stream: true,
            stdin: req.attachStdin,
            stdout: req.attachStdout,
            stderr: req.attachStderr,
            tty: req.tty,
            ...(str(p, "detach-keys") ? { detachKeys: str(p, "detach-keys") as string } : {}),
          });
        } catch (err) {
          throw runStatusError(err, "run");
        }
      }
      const wait = client.containerWait(id, { condition: req.autoRemove ? "removed" : "next-exit" });
      wait.catch(() => {});
      if (req.tty && attach) term.start(req.attachStdin);
      try {
        await client.containerStart(id);
      } catch (err) {
        attach?.close();
        term.restore();
        if (req.autoRemove) await wait.catch(() => {});
        throw runStatusError(err, "run");
      }
      if (!attach) return 0;
      if (req.tty) term.monitorSize(client, id);
      const result = await streamAttach({
        client,
        id,
        attach,
        tty: req.tty,
        stdin: req.attachStdin,
        detachKeys: str(p, "detach-keys"),
      });
      term.restore();
      if (result.detached) return 0;
      let status: Awaited<typeof wait>;
      try {
        status = await wait;
      } catch (err) {
        throw runStatusError(err, "run");
      }
      if (status.Error?.Message) {
        process.stderr.write(`${status.Error.Message}\n`);
        return 125;
      }
      return status.StatusCode;
    } finally {
      term.restore();
      undoSignals();
    }
  },
};
