/**
 * `berth inspect` (and `container inspect`, `image inspect`): looks each name up as docker does
 * without `--type` (container, then image, then network, then volume), prints a JSON array
 * indented with 4 spaces, or each object through `--format`. Missing objects print
 * `Error: No such object: x` (or the daemon's message for a typed lookup) and exit 1.
 *
 * @since 0.1.0
 */
import type { Client } from "@berth/client";
import { type CommandModule, StatusError } from "../Command.ts";
import { describeError, isNotFound } from "../daemonError.ts";
import { bool, str } from "../FlagParser.ts";
import { executeTemplate, parseTemplate } from "../Formatter.ts";
import { OBJECT_FORMAT_FLAG } from "./commonFlags.ts";

type Kind = "container" | "image" | "network" | "volume";

async function lookup(client: Client, kind: Kind, name: string, size: boolean): Promise<unknown> {
  switch (kind) {
    case "container":
      return client.containerInspect(name, size ? { size } : {});
    case "image":
      return client.imageInspect(name);
    case "network":
      return JSON.parse(
        (await client.request("GET", `/networks/${encodeURIComponent(name)}`)).body.toString("utf8"),
      );
    case "volume":
      return JSON.parse(
        (await client.request("GET", `/volumes/${encodeURIComponent(name)}`)).body.toString("utf8"),
      );
  }
}

/** command is `berth inspect`. */
export const command: CommandModule = {
  spec: {
    name: "inspect",
    use: "[OPTIONS] NAME|ID [NAME|ID...]",
    short: "Return low-level information on Berth objects",
    flags: [
      OBJECT_FORMAT_FLAG,
      { name: "size", short: "s", type: "bool", usage: "Display total file sizes if the type is container" },
      { name: "type", type: "string", usage: "Only inspect objects of the given type" },
    ],
    args: { kind: "min", n: 1 },
  },
  async run(inv) {
    const p = inv.parsed;
    const type = inv.variant ?? str(p, "type") ?? "";
    if (type !== "" && !["container", "image", "network", "volume"].includes(type)) {
      throw new StatusError(`"${type}" is not a valid value for --type`, 1);
    }
    const format = str(p, "format") ?? "";
    const tmpl =
      format !== "" && format !== "json"
        ? parseTemplate(format.replace(/\\t/g, "\t").replace(/\\n/g, "\n"))
        : undefined;
    const client = await inv.client();
    const size = bool(p, "size");
    const kinds: Kind[] = type === "" ? ["container", "image", "network", "volume"] : [type as Kind];
    const found: unknown[] = [];
    const errors: string[] = [];
    for (const name of p.args) {
      let obj: unknown;
      let lastErr: unknown;
      for (const kind of kinds) {
        try {
          obj = await lookup(client, kind, name, size);
          break;
        } catch (err) {
          lastErr = err;
          if (!isNotFound(err)) break;
        }
      }
      if (obj !== undefined) {
        found.push(obj);
        continue;
      }
      if (kinds.length > 1 && isNotFound(lastErr)) errors.push(`Error: No such object: ${name}`);
      else errors.push(describeError(lastErr));
    }
    if (tmpl) {
      for (const obj of found) process.stdout.write(`${executeTemplate(tmpl, obj)}\n`);
    } else {
      process.stdout.write(found.length === 0 ? "[]\n" : `${JSON.stringify(found, null, 4)}\n`);
    }
    if (errors.length > 0) throw new StatusError(errors.join("\n"), 1);
    return 0;
  },
};
