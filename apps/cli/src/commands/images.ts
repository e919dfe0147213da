/**
 * `berth images` (`image ls|list`): `GET /images/json` with docker's columns (one row per
 * repository:tag), `-a`, `-q`, `--digests`, `--no-trunc`, `--filter`, `--format` and an
 * optional `REPOSITORY[:TAG]` (a `reference` filter).
 *
 * @since 0.1.0
 */
import type { CommandModule } from "../Command.ts";
import { bool, list, str } from "../FlagParser.ts";
import { listFormat, renderRows } from "../Formatter.ts";
import {
  DEFAULT_IMAGES_DIGEST_FORMAT,
  DEFAULT_IMAGES_FORMAT,
  IMAGES_HEADER,
  imageRows,
} from "../ImageRow.ts";
import { FILTER_FLAG, LIST_FORMAT_FLAG, NO_TRUNC_FLAG } from "./commonFlags.ts";
import { parseFilters } from "./filters.ts";

/** command is `berth images`. */
export const command: CommandModule = {
  spec: {
    name: "images",
    use: "[OPTIONS] [REPOSITORY[:TAG]]",
    short: "List images",
    aliases: ["image ls", "image list", "images"],
    flags: [
      { name: "all", short: "a", type: "bool", usage: "Show all images (default hides intermediate images)" },
      { name: "digests", type: "bool", usage: "Show digests" },
      FILTER_FLAG,
      LIST_FORMAT_FLAG,
      NO_TRUNC_FLAG,
      { name: "quiet", short: "q", type: "bool", usage: "Only show image IDs" },
    ],
    args: { kind: "range", min: 0, max: 1 },
  },
  async run(inv) {
    const p = inv.parsed;
    const quiet = bool(p, "quiet");
    const digests = bool(p, "digests");
    const format = listFormat(
      str(p, "format") ?? "",
      quiet,
      digests ? DEFAULT_IMAGES_DIGEST_FORMAT : DEFAULT_IMAGES_FORMAT,
    );
    const filters = parseFilters(list(p, "filter")) ?? {};
    if (p.args[0] !== undefined) filters.reference = [...(filters.reference ?? []), p.args[0]];
    const client = await inv.client();
    const images = await client.imageList({
      ...(bool(p, "all") ? { all: true } : {}),
      ...(Object.keys(filters).length > 0 ? { filters } : {}),
    });
    const rows = imageRows(images, {
      trunc: !bool(p, "no-trunc"),
      digests: digests || format.includes("{{.Digest}}"),
    });
    process.stdout.write(renderRows(format, rows, IMAGES_HEADER));
    return 0;
  },
};
