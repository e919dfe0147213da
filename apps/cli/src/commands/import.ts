/**
 * `berth import FILE|- [REPOSITORY[:TAG]]`: streams the tarball to
 * `POST /images/create?fromSrc=-&repo=<name:tag>[&changes=...&message=...]` and prints the new
 * image ID (`sha256:...`).
 *
 * @since 0.1.0
 */
import { createReadStream, statSync } from "node:fs";
import { type CommandModule, StatusError } from "../Command.ts";
import { list, str } from "../FlagParser.ts";

/** command is `berth import`. */
export const command: CommandModule = {
  spec: {
    name: "import",
    use: "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
    short: "Import the contents from a tarball to create a filesystem image",
    aliases: ["image import", "import"],
    flags: [
      {
        name: "change",
        short: "c",
        type: "list",
        usage: "Apply Dockerfile instruction to the created image",
      },
      { name: "message", short: "m", type: "string", usage: "Set commit message for imported image" },
      { name: "platform", type: "string", usage: "Set platform if server is multi-platform capable" },
    ],
    args: { kind: "min", n: 1 },
  },
  async run(inv) {
    const p = inv.parsed;
    const [file, repo] = p.args as [string, string | undefined];
    if (p.args.length > 2) {
      throw new StatusError(
        `berth: '${inv.path}' requires at least 1 and at most 2 arguments\n\nUsage:  ${inv.path} ${inv.spec.use}\n\nRun '${inv.path} --help' for more information`,
        1,
      );
    }
    if (/^https?:\/\//.test(file))
      throw new StatusError("importing from a URL is not supported by berth yet", 1);
    let source: NodeJS.ReadableStream;
    if (file === "-") source = process.stdin;
    else {
      try {
        statSync(file);
      } catch {
        throw new StatusError(`open ${file}: no such file or directory`, 1);
      }
      source = createReadStream(file);
    }
    const message = str(p, "message");
    const platform = str(p, "platform");
    const changes = list(p, "change");
    const client = await inv.client();
    const res = await client.imageImport(source, {
      ...(repo ? { repo } : {}),
      ...(message !== undefined ? { message } : {}),
      ...(changes.length > 0 ? { changes } : {}),
      ...(platform ? { platform } : {}),
    });
    process.stdout.write(`${res.id}\n`);
    return 0;
  },
};
