/**
 * `berth compose config`: the normalised model as YAML (or `--format json`), `--services`,
 * `--volumes`, `--networks`, `--images` and `-q` (validate only), as docker compose prints them.
 *
 * @since 0.1.0
 */
import { projectModel, projectToYaml, serviceImage } from "@berth/compose";
import { bool, str } from "../FlagParser.ts";
import type { ComposeSubcommand } from "./composeContext.ts";

/** subcommand is `berth compose config`. */
export const subcommand: ComposeSubcommand = {
  spec: {
    name: "compose config",
    use: "[OPTIONS] [SERVICE...]",
    short: "Parse, resolve and render compose file in canonical format",
    aliases: ["compose convert"],
    flags: [
      {
        name: "format",
        type: "string",
        usage: "Format the output. Values: [yaml | json]",
        defaultText: '"yaml"',
      },
      {
        name: "quiet",
        short: "q",
        type: "bool",
        usage: "Only validate the configuration, don't print anything",
      },
      { name: "services", type: "bool", usage: "Print the service names, one per line" },
      { name: "volumes", type: "bool", usage: "Print the volume names, one per line" },
      { name: "networks", type: "bool", usage: "Print the network names, one per line" },
      { name: "images", type: "bool", usage: "Print the image names, one per line" },
      { name: "profiles", type: "bool", usage: "Print the profile names, one per line" },
      { name: "output", short: "o", type: "string", usage: "Save to file (default to stdout)" },
    ],
    args: { kind: "any" },
  },
  async run(ctx) {
    const p = ctx.parsed;
    const project = await ctx.project();
    if (p.args.length > 0) {
      const keep = new Set(p.args);
      for (const n of Object.keys(project.services)) if (!keep.has(n)) delete project.services[n];
    }
    if (bool(p, "quiet")) return 0;
    const lines = (xs: string[]) => {
      for (const x of xs) process.stdout.write(`${x}\n`);
      return 0;
    };
    if (bool(p, "services")) return lines(Object.keys(project.services));
    if (bool(p, "volumes")) return lines(Object.keys(project.volumes));
    if (bool(p, "networks")) return lines(Object.keys(project.networks));
    if (bool(p, "images")) return lines(Object.values(project.services).map((s) => serviceImage(project, s)));
    if (bool(p, "profiles")) {
      const all = new Set<string>();
      for (const s of [...Object.values(project.services), ...Object.values(project.disabledServices)]) {
        for (const pr of s.profiles ?? []) all.add(pr);
      }
      return lines([...all].sort());
    }
    const text =
      str(p, "format") === "json"
        ? `${JSON.stringify(projectModel(project), null, 4)}\n`
        : projectToYaml(project);
    const out = str(p, "output");
    if (out) {
      const { writeFile } = await import("node:fs/promises");
      await writeFile(out, text);
      return 0;
    }
    process.stdout.write(text);
    return 0;
  },
};
