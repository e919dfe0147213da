/**
 * `berth load [-i FILE] [-q]`: sends a `docker save` archive (any docker version, or an OCI
 * image layout tar; plain, gzip or zstd) to `POST /images/load` and prints the daemon's lines
 * (`Loaded image: name:tag`). Progress is shown only on a terminal, as docker does.
 *
 * @since 0.1.0
 */
import { createReadStream, statSync } from "node:fs";
import { decodeJSONLines, type JSONMessage } from "@berth/api";
import { type CommandModule, StatusError } from "../Command.ts";
import { bool, str } from "../FlagParser.ts";

/** command is `berth load`. */
export const command: CommandModule = {
  spec: {
    name: "load",
    use: "[OPTIONS]",
    short: "Load an image from a tar archive or STDIN",
    aliases: ["image load", "load"],
    flags: [
      { name: "input", short: "i", type: "string", usage: "Read from tar archive file, instead of STDIN" },
      { name: "quiet", short: "q", type: "bool", usage: "Suppress the load output" },
    ],
    args: { kind: "none" },
  },
  async run(inv) {
    const input = str(inv.parsed, "input") ?? "";
    let source: NodeJS.ReadableStream;
    if (input !== "") {
      try {
        if (statSync(input).isDirectory()) throw new StatusError(`read ${input}: is a directory`, 1);
      } catch (err) {
        if (err instanceof StatusError) throw err;
        throw new StatusError(`open ${input}: no such file or directory`, 1);
      }
      source = createReadStream(input);
    } else {
      if (process.stdin.isTTY) throw new StatusError("requested load from stdin, but stdin is empty", 1);
      source = process.stdin;
    }
    const quiet = bool(inv.parsed, "quiet") || !process.stdout.isTTY;
    const client = await inv.client();
    const res = await client.requestStream("POST", "/images/load", {
      query: { quiet },
      body: source,
      headers: { "Content-Type": "application/x-tar" },
    });
    let failed: JSONMessage | undefined;
    for await (const msg of decodeJSONLines(res)) {
      if (msg.errorDetail || msg.error) {
        failed = msg;
        break;
      }
      if (msg.stream !== undefined) process.stdout.write(msg.stream);
      else if (msg.status !== undefined && !quiet) {
        process.stdout.write(`${msg.id ? `${msg.id}: ` : ""}${msg.status} ${msg.progress ?? ""}\n`);
      }
    }
    if (failed) throw new StatusError(failed.errorDetail?.message ?? failed.error ?? "load failed", 1);
    return 0;
  },
};
