/**
 * `berth commit`: `POST /commit?container=...&repo=...&tag=...` with `-a`, `-c`, `-m`, `-p`;
 * prints the new image ID.
 *
 * @since 0.1.0
 */
import { type CommandModule, StatusError } from "../Command.ts";
import { list, str } from "../FlagParser.ts";

/** splitReference reads `REPOSITORY[:TAG]` as docker's client does (tag `latest` by default). */
export function splitReference(ref: string): { repo: string; tag: string } {
  if (ref.includes("@")) throw new StatusError("refusing to create a tag with a digest reference", 1);
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  if (colon > slash) return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repo: ref, tag: "latest" };
}

/** command is `berth commit`. */
export const command: CommandModule = {
  spec: {
    name: "commit",
    use: "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
    short: "Create a new image from a container's changes",
    aliases: ["container commit", "commit"],
    flags: [
      {
        name: "author",
        short: "a",
        type: "string",
        usage: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")',
      },
      {
        name: "change",
        short: "c",
        type: "list",
        usage: "Apply Dockerfile instruction to the created image",
      },
      { name: "message", short: "m", type: "string", usage: "Commit message" },
      {
        name: "pause",
        short: "p",
        type: "bool",
        usage: "Pause container during commit",
        defaultText: "true",
      },
    ],
    args: { kind: "range", min: 1, max: 2 },
  },
  async run(inv) {
    const [container = "", ref] = inv.parsed.args;
    const client = await inv.client();
    const pause = inv.parsed.changed.has("pause") ? inv.parsed.flags.pause === true : true;
    const query: Record<string, string | boolean | undefined> = {
      container,
      comment: str(inv.parsed, "message"),
      author: str(inv.parsed, "author"),
      pause,
    };
    if (ref !== undefined && ref !== "") Object.assign(query, splitReference(ref));
    const changes = list(inv.parsed, "change");
    let qs = "";
    for (const c of changes) qs += `&changes=${encodeURIComponent(c)}`;
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const base = params.toString();
    const res = await client.request("POST", `/commit?${base}${qs}`, { body: {} });
    const { Id } = JSON.parse(res.body.toString("utf8")) as { Id: string };
    process.stdout.write(`${Id}\n`);
    return 0;
  },
};
