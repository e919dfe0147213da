/**
 * `berth pull [OPTIONS] NAME[:TAG|@DIGEST]`: `POST /images/create?fromImage=&tag=&platform=` with
 * the stored credentials in `X-Registry-Auth`; docker's plain progress lines, then the reference.
 *
 * @since 0.1.0
 */
import { type CommandModule, StatusError } from "../Command.ts";
import { bool, str } from "../FlagParser.ts";
import { printProgress } from "../printProgress.ts";
import { registryAuthFor } from "../registryAuth.ts";
import { splitReference } from "./createContainer.ts";

/** command is `berth pull`. */
export const command: CommandModule = {
  spec: {
    name: "pull",
    use: "[OPTIONS] NAME[:TAG|@DIGEST]",
    short: "Download an image from a registry",
    aliases: ["image pull", "pull"],
    flags: [
      { name: "all-tags", short: "a", type: "bool", usage: "Download all tagged images in the repository" },
      {
        name: "disable-content-trust",
        type: "bool",
        usage: "Skip image verification (default true)",
        hidden: true,
      },
      { name: "platform", type: "string", usage: "Set platform if server is multi-platform capable" },
      { name: "quiet", short: "q", type: "bool", usage: "Suppress verbose output" },
    ],
    args: { kind: "exact", n: 1 },
  },
  async run(inv) {
    const p = inv.parsed;
    const image = p.args[0]!;
    const all = bool(p, "all-tags");
    if (all && (image.includes("@") || /:[^/]*$/.test(image)))
      throw new StatusError("tag can't be used with --all-tags/-a", 1);
    const quiet = bool(p, "quiet");
    const platform = str(p, "platform");
    const ref = splitReference(image);
    if (!all && !quiet && !image.includes("@") && !/:[^/]*$/.test(image))
      process.stdout.write("Using default tag: latest\n");
    const client = await inv.client();
    const res = await client.requestStream("POST", "/images/create", {
      query: {
        fromImage: ref.fromImage,
        ...(all ? {} : { tag: ref.tag }),
        ...(platform ? { platform } : {}),
      },
      headers: { "X-Registry-Auth": await registryAuthFor(image) },
    });
    await printProgress(res, process.stdout, quiet);
    process.stdout.write(`${all ? ref.fromImage : ref.display}\n`);
    return 0;
  },
};
