import { InvalidArgument, NotImplemented } from "@berth/errdefs";

/** DEFAULT_HOST is where berthd listens by default (and where the client looks without DOCKER_HOST). */
export const DEFAULT_HOST = "unix:///run/berth/berth.sock";

/** DockerHost is a parsed DOCKER_HOST value: a UNIX socket path or a plain TCP address. */
export type DockerHost =
  | { readonly kind: "unix"; readonly socketPath: string; readonly url: string }
  | { readonly kind: "tcp"; readonly hostname: string; readonly port: number; readonly url: string };

/**
 * parseDockerHost parses `unix:///path`, a bare `/path`, `tcp://host:port` or `http://host:port`
 * (port defaults to 2375). `ssh://` and `npipe://` throw NotImplemented; anything else InvalidArgument.
 */
export function parseDockerHost(host: string): DockerHost {
  if (host.startsWith("/")) return { kind: "unix", socketPath: host, url: `unix://${host}` };
  const m = /^([a-z]+):\/\/(.*)$/.exec(host);
  if (!m)
    throw new InvalidArgument(
      `invalid docker host ${JSON.stringify(host)}: expected unix:///path or tcp://host:port`,
    );
  const scheme = m[1]!;
  const rest = m[2]!;
  switch (scheme) {
    case "unix":
      if (!rest.startsWith("/")) {
        throw new InvalidArgument(
          `invalid docker host ${JSON.stringify(host)}: expected an absolute socket path`,
        );
      }
      return { kind: "unix", socketPath: rest, url: host };
    case "tcp":
    case "http": {
      const hostPort = rest.replace(/\/+$/, "");
      const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostPort);
      const plain = /^([^:/]+)(?::(\d+))?$/.exec(hostPort);
      const mm = bracket ?? plain;
      if (!mm)
        throw new InvalidArgument(`invalid docker host ${JSON.stringify(host)}: expected tcp://host:port`);
      const port = mm[2] === undefined ? 2375 : Number.parseInt(mm[2], 10);
      if (!(port > 0 && port < 65536)) {
        throw new InvalidArgument(`invalid docker host ${JSON.stringify(host)}: port ${mm[2]} out of range`);
      }
      return {
        kind: "tcp",
        hostname: mm[1]!,
        port,
        url: `tcp://${hostPort}${mm[2] === undefined ? ":2375" : ""}`,
      };
    }
    case "ssh":
    case "npipe":
    case "https":
      throw new NotImplemented(
        `docker host scheme ${scheme}:// is not supported yet, expected unix:// or tcp://`,
      );
    default:
      throw new InvalidArgument(`invalid docker host ${JSON.stringify(host)}: unknown scheme ${scheme}://`);
  }
}
