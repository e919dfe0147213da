/**
 * `berth push [OPTIONS] NAME[:TAG]`: `POST /images/{name}/push?tag=` with the stored credentials
 * in `X-Registry-Auth`; docker's plain progress lines and `TAG: digest: sha256:... size: N`.
 *
 * @since 0.1.0
 */
import { type CommandModule, StatusError } from "../Command.ts";
import { bool } from "../FlagParser.ts";
import { printProgress } from "../printProgress.ts";
import { registryAuthFor } from "../registryAuth.ts";

/** command is `berth push`. */
export const command: CommandModule = {
  spec: {
    name: "push",
    use: "[OPTIONS] NAME[:TAG]",
    short: "Upload an image to a registry",
    aliases: ["image push", "push"],
    flags: [
      { name: "all-tags", short: "a", type: "bool", usage: "Push all tags of an image to the repository" },
      {
        name: "disable-content-trust",
        type: "bool",
        usage: "Skip image signing (default true)",
        hidden: true,
      },
      { name: "quiet", short: "q", type: "bool", usage: "Suppress verbose output" },
    ],
    args: { kind: "exact", n: 1 },
  },
  async run(inv) {
    const p = inv.parsed;
    const image = p.args[0]!;
    if (image.includes("@")) throw new StatusError("cannot push a digest reference", 1);
    const all = bool(p, "all-tags");
    const quiet = bool(p, "quiet");
    const slash = image.lastIndexOf("/");
    const colon = image.lastIndexOf(":");
    const hasTag = colon > slash;
    if (all && hasTag) throw new StatusError("tag can't be used with --all-tags/-a", 1);
    const name = hasTag ? image.slice(0, colon) : image;
    let tag = hasTag ? image.slice(colon + 1) : "";
    if (!hasTag && !all) {
      tag = "latest";
      if (!quiet) process.stdout.write("Using default tag: latest\n");
    }
    const client = await inv.client();
    const res = await client.requestStream("POST", `/images/${name}/push`, {
      query: tag ? { tag } : {},
      headers: { "X-Registry-Auth": await registryAuthFor(image) },
    });
    await printProgress(res, process.stdout, quiet);
    if (quiet) process.stdout.write(`${name}${tag ? `:${tag}` : ""}\n`);
    return 0;
  },
};
