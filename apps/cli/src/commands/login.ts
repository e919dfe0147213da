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

/** prompt reads one line from the terminal, without echo when `secret` (docker's password prompt). */
export function prompt(question: string, secret: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    if (!secret) {
      let line = "";
      const onData = (b: Buffer) => {
        line += b.toString("utf8");
        const nl = line.indexOf("\n");
        if (nl >= 0) {
          stdin.off("data", onData);
          stdin.pause();
          resolve(line.slice(0, nl).replace(/\r$/, "").trim());
        }
      };
      stdin.on("data", onData);
      stdin.resume();
      return;
    }
    stdin.setRawMode(true);
    let value = "";
    const done = (err?: Error) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (b: Buffer) => {
      for (const ch of b.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003") return done(new StatusError("", 130));
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on("data", onData);
    stdin.resume();
  });
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
    let username = str(p, "username") ?? "";
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
      if (!process.stdin.isTTY) {
        throw new StatusError("Error: Cannot perform an interactive login from a non TTY device", 1);
      }
      if (username === "") username = await prompt("Username: ", false);
      if (username === "") throw new StatusError("Error: Non-null Username Required", 1);
      if (password === undefined || password === "") password = await prompt("Password: ", true);
      if (password === "") throw new StatusError("Error: Password Required", 1);
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
