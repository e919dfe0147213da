/**
 * `berth rmi` (`image rm|remove`): `DELETE /images/{name}[?force=1&noprune=1]` per image, printing
 * `Untagged: x` / `Deleted: sha256:...`; errors are printed at the end (exit 1), except that with
 * `-f` missing images only warn (docker v28).
 *
 * @since 0.1.0
 */
import { type CommandModule, StatusError } from "../Command.ts";
import { describeError, isNotFound } from "../daemonError.ts";
import { bool } from "../FlagParser.ts";

/** command is `berth rmi`. */
export const command: CommandModule = {
  spec: {
    name: "rmi",
    use: "[OPTIONS] IMAGE [IMAGE...]",
    short: "Remove one or more images",
    aliases: ["image rm", "image remove", "rmi"],
    flags: [
      { name: "force", short: "f", type: "bool", usage: "Force removal of the image" },
      { name: "no-prune", type: "bool", usage: "Do not delete untagged parents" },
    ],
    args: { kind: "min", n: 1 },
  },
  async run(inv) {
    const p = inv.parsed;
    const force = bool(p, "force");
    const noprune = bool(p, "no-prune");
    const client = await inv.client();
    const errors: string[] = [];
    let fatal = false;
    for (const name of p.args) {
      try {
        const items = await client.imageRemove(name, {
          ...(force ? { force } : {}),
          ...(noprune ? { noprune } : {}),
        });
        for (const it of items) {
          process.stdout.write(it.Deleted ? `Deleted: ${it.Deleted}\n` : `Untagged: ${it.Untagged ?? ""}\n`);
        }
      } catch (err) {
        if (!isNotFound(err)) fatal = true;
        errors.push(describeError(err));
      }
    }
    if (errors.length > 0) {
      if (!force || fatal) throw new StatusError(errors.join("\n"), 1);
      process.stderr.write(`${errors.join("\n")}\n`);
    }
    return 0;
  },
};
