/**
 * `berth login [OPTIONS] [SERVER]`: checks the credentials through the daemon (`POST /auth`, which
 * asks the registry) and stores them in docker's config.json (`$DOCKER_CONFIG` or `~/.docker`),
 * through its credential helper when one is configured, so berth and docker share logins.
 *
 * @since 0.1.0
 */
import { readFileSync } from "node:fs";
import { authKey, DockerConfig } from "@berth/registry";
import { type CommandModule, StatusError } from "../Command.ts";
import { bool, str } from "../FlagParser.ts";

/** normaliseServer turns `https://host/v1/`, `host` or nothing into the registry host. */
export function normaliseServer(server: string | undefined): string {
  if (server === undefined || server === "") return "docker.io";
  const host = server.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
  return host === "index.docker.io" || host === "registry-1.docker.io" ? "docker.io" : host;
}

/** command is `berth login`. */
export const command: CommandModule = {
  spec: {
    name: "login",
    use: "[OPTIONS] [SERVER]",
    short: "Authenticate to a registry",
    aliases: ["login"],
    flags: [
      { name: "password", short: "p", type: "string", usage: "Password or Personal Access Token (PAT)" },
      {
        name: "password-stdin",
        type: "bool",
        usage: "Take the Password or Personal Access Token (PAT) from stdin",
      },
      { name: "username", short: "u", type: "string", usage: "Username" },
    ],
    args: { kind: "range", min: 0, max: 1 },
  },
  async run(inv) {
    const p = inv.parsed;
    const host = normaliseServer(p.args[0]);
    const username = str(p, "username") ?? "";
    let password = str(p, "password");
    if (bool(p, "password-stdin")) {
      if (password !== undefined)
        throw new StatusError("--password and --password-stdin are mutually exclusive", 1);
      if (username === "") throw new StatusError("Must provide --username with --password-stdin", 1);
      password = readFileSync(0, "utf8").replace(/\r?\n$/, "");
    } else if (password !== undefined) {
      process.stderr.write("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
    }
    if (username === "" || password === undefined || password === "") {
      throw new StatusError("Error: Cannot perform an interactive login from a non TTY device", 1);
    }
    const client = await inv.client();
    await client.request("POST", "/auth", {
      body: { username, password, serveraddress: authKey(host) },
    });
    const config = new DockerConfig();
    await config.store(host, { username, password });
    if ((await config.helperFor(host)) === undefined) {
      process.stderr.write(
        `\nWARNING! Your credentials are stored unencrypted in '${config.file}'.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n\n`,
      );
    }
    process.stdout.write("Login Succeeded\n");
    return 0;
  },
};
