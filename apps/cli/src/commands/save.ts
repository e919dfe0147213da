/**
 * `berth save [-o FILE] IMAGE...`: streams `GET /images/get?names=...` (docker 25+'s archive:
 * OCI layout plus docker's manifest.json) to FILE, or to standard output when that is not a
 * terminal (docker refuses to write a tar to a terminal, and so does berth).
 *
 * @since 0.1.0
 */
import { createWriteStream, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { type CommandModule, StatusError } from "../Command.ts";
import { str } from "../FlagParser.ts";

/** validateOutputPath is docker's command.ValidateOutputPath: the directory must exist, the path must not be one. */
function validateOutputPath(path: string): void {
  const dir = dirname(path);
  try {
    if (!statSync(dir).isDirectory()) throw new Error();
  } catch {
    throw new StatusError(`failed to save image: invalid output path: directory "${dir}" does not exist`, 1);
  }
  try {
    if (statSync(path).isDirectory()) {
      throw new StatusError(`failed to save image: invalid output path: "${path}" is a directory`, 1);
    }
  } catch (err) {
    if (err instanceof StatusError) throw err;
  }
}

/** command is `berth save`. */
export const command: CommandModule = {
  spec: {
    name: "save",
    use: "[OPTIONS] IMAGE [IMAGE...]",
    short: "Save one or more images to a tar archive (streamed to STDOUT by default)",
    aliases: ["image save", "save"],
    flags: [{ name: "output", short: "o", type: "string", usage: "Write to a file, instead of STDOUT" }],
    args: { kind: "min", n: 1 },
  },
  async run(inv) {
    const output = str(inv.parsed, "output") ?? "";
    if (output === "" && process.stdout.isTTY) {
      throw new StatusError("cowardly refusing to save to a terminal. Use the -o flag or redirect", 1);
    }
    if (output !== "") validateOutputPath(output);
    const client = await inv.client();
    const res = await client.requestStream("GET", "/images/get", {
      query: { names: inv.parsed.args as unknown as string },
    });
    if (output === "") {
      await pipeline(res, process.stdout, { end: false });
      return 0;
    }
    // As docker's CopyToFile: a temp file next to the target, renamed when complete.
    const tmp = join(dirname(output), `.${basename(output)}.berth-save-${process.pid}`);
    try {
      await pipeline(res, createWriteStream(tmp, { mode: 0o600 }));
      renameSync(tmp, output);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw new StatusError(`failed to save image: ${(err as Error).message}`, 1);
    }
    return 0;
  },
};
