/**
 * `berth tag SOURCE TARGET`: `POST /images/{source}/tag?repo=<name>&tag=<tag>` (tag defaults to
 * `latest`; a digest target is refused as docker does).
 *
 * @since 0.1.0
 */
import { type CommandModule, StatusError } from "../Command.ts";
import { splitReference } from "./createContainer.ts";

/** command is `berth tag`. */
export const command: CommandModule = {
  spec: {
    name: "tag",
    use: "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
    short: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
    aliases: ["image tag", "tag"],
    flags: [],
    args: { kind: "exact", n: 2 },
  },
  async run(inv) {
    const [source, target] = inv.parsed.args as [string, string];
    if (target.includes("@")) throw new StatusError("refusing to create a tag with a digest reference", 1);
    const ref = splitReference(target);
    const client = await inv.client();
    await client.imageTag(source, { repo: ref.fromImage, tag: ref.tag });
    return 0;
  },
};
