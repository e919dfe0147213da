/**
 * `berth export`: `GET /containers/{name}/export`, the root file system as a tar to `-o FILE`
 * or stdout (never to a terminal).
 *
 * @since 0.1.0
 */
import { createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { type CommandModule, StatusError } from "../Command.ts";
import { str } from "../FlagParser.ts";

/** command is `berth export`. */
export const command: CommandModule = {
  spec: {
    name: "export",
    use: "[OPTIONS] CONTAINER",
    short: "Export a container's filesystem as a tar archive",
    aliases: ["container export", "export"],
    flags: [{ name: "output", short: "o", type: "string", usage: "Write to a file, instead of STDOUT" }],
    args: { kind: "exact", n: 1 },
  },
  async run(inv) {
    const output = str(inv.parsed, "output");
    if (output === undefined && process.stdout.isTTY)
      throw new StatusError("cowardly refusing to save to a terminal. Use the -o flag or redirect", 1);
    const client = await inv.client();
    const res = await client.requestStream(
      "GET",
      `/containers/${encodeURIComponent(inv.parsed.args[0] ?? "")}/export`,
    );
    if (output !== undefined) {
      await pipeline(res, createWriteStream(output, { mode: 0o600 }));
      return 0;
    }
    for await (const chunk of res) {
      if (!process.stdout.write(chunk as Buffer)) await new Promise((r) => process.stdout.once("drain", r));
    }
    return 0;
  },
};
