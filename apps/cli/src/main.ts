/**
 * berth: docker's command language over the Docker Engine API. This entry point stays tiny for
 * startup speed: it parses the global flags, finds the command and imports its module lazily.
 *
 * @since 0.1.0
 */
import type { Client } from "@berth/client";
import type { CommandModule, Globals } from "./Command.ts";

/** VERSION is berth's version, printed by `berth --version` and `berth version`. */
export const VERSION = "0.1.0";

type Loader = () => Promise<{ command: CommandModule }>;
interface Entry {
  readonly load: Loader;
  readonly short: string;
  readonly variant?: string;
}

const L = {
  run: () => import("./commands/run.ts"),
  build: () => import("./commands/build.ts"),
  builderPrune: () => import("./commands/builderPrune.ts"),
  create: () => import("./commands/create.ts"),
  ps: () => import("./commands/ps.ts"),
  logs: () => import("./commands/logs.ts"),
  exec: () => import("./commands/exec.ts"),
  start: () => import("./commands/start.ts"),
  stop: () => import("./commands/stop.ts"),
  kill: () => import("./commands/kill.ts"),
  restart: () => import("./commands/restart.ts"),
  rm: () => import("./commands/rm.ts"),
  wait: () => import("./commands/wait.ts"),
  inspect: () => import("./commands/inspect.ts"),
  images: () => import("./commands/images.ts"),
  rmi: () => import("./commands/rmi.ts"),
  tag: () => import("./commands/tag.ts"),
  pull: () => import("./commands/pull.ts"),
  push: () => import("./commands/push.ts"),
  login: () => import("./commands/login.ts"),
  logout: () => import("./commands/logout.ts"),
  import: () => import("./commands/import.ts"),
  load: () => import("./commands/load.ts"),
  save: () => import("./commands/save.ts"),
  version: () => import("./commands/version.ts"),
  info: () => import("./commands/info.ts"),
  volumeCreate: () => import("./commands/volumeCreate.ts"),
  volumeLs: () => import("./commands/volumeLs.ts"),
  volumeRm: () => import("./commands/volumeRm.ts"),
  volumePrune: () => import("./commands/volumePrune.ts"),
  pause: () => import("./commands/pause.ts"),
  unpause: () => import("./commands/unpause.ts"),
  rename: () => import("./commands/rename.ts"),
  top: () => import("./commands/top.ts"),
  diff: () => import("./commands/diff.ts"),
  commit: () => import("./commands/commit.ts"),
  export: () => import("./commands/export.ts"),
  update: () => import("./commands/update.ts"),
  stats: () => import("./commands/stats.ts"),
  cp: () => import("./commands/cp.ts"),
  compose: () => import("./commands/compose.ts"),
  events: () => import("./commands/events.ts"),
  containerPrune: () => import("./commands/containerPrune.ts"),
  imagePrune: () => import("./commands/imagePrune.ts"),
  systemPrune: () => import("./commands/systemPrune.ts"),
  systemDf: () => import("./commands/systemDf.ts"),
  networkCreate: () => import("./commands/networkCreate.ts"),
  networkLs: () => import("./commands/networkLs.ts"),
  networkRm: () => import("./commands/networkRm.ts"),
  networkPrune: () => import("./commands/networkPrune.ts"),
  networkConnect: () => import("./commands/networkConnect.ts"),
  networkDisconnect: () => import("./commands/networkDisconnect.ts"),
  port: () => import("./commands/port.ts"),
} satisfies Record<string, Loader>;

const TOP: Record<string, Entry> = {
  run: { load: L.run, short: "Create and run a new container from an image" },
  build: { load: L.build, short: "Build an image from a Dockerfile" },
  ps: { load: L.ps, short: "List containers" },
  images: { load: L.images, short: "List images" },
  version: { load: L.version, short: "Show the Berth version information" },
  info: { load: L.info, short: "Display system-wide information" },
  create: { load: L.create, short: "Create a new container" },
  exec: { load: L.exec, short: "Execute a command in a running container" },
  events: { load: L.events, short: "Get real time events from the server" },
  import: { load: L.import, short: "Import the contents from a tarball to create a filesystem image" },
  load: { load: L.load, short: "Load an image from a tar archive or STDIN" },
  save: { load: L.save, short: "Save one or more images to a tar archive (streamed to STDOUT by default)" },
  inspect: { load: L.inspect, short: "Return low-level information on Berth objects" },
  kill: { load: L.kill, short: "Kill one or more running containers" },
  logs: { load: L.logs, short: "Fetch the logs of a container" },
  port: { load: L.port, short: "List port mappings or a specific mapping for the container" },
  restart: { load: L.restart, short: "Restart one or more containers" },
  rm: { load: L.rm, short: "Remove one or more containers" },
  rmi: { load: L.rmi, short: "Remove one or more images" },
  start: { load: L.start, short: "Start one or more stopped containers" },
  stop: { load: L.stop, short: "Stop one or more running containers" },
  tag: { load: L.tag, short: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE" },
  pull: { load: L.pull, short: "Download an image from a registry" },
  push: { load: L.push, short: "Upload an image to a registry" },
  login: { load: L.login, short: "Authenticate to a registry" },
  logout: { load: L.logout, short: "Log out from a registry" },
  wait: { load: L.wait, short: "Block until one or more containers stop, then print their exit codes" },
  pause: { load: L.pause, short: "Pause all processes within one or more containers" },
  unpause: { load: L.unpause, short: "Unpause all processes within one or more containers" },
  rename: { load: L.rename, short: "Rename a container" },
  top: { load: L.top, short: "Display the running processes of a container" },
  diff: { load: L.diff, short: "Inspect changes to files or directories on a container's filesystem" },
  commit: { load: L.commit, short: "Create a new image from a container's changes" },
  export: { load: L.export, short: "Export a container's filesystem as a tar archive" },
  update: { load: L.update, short: "Update configuration of one or more containers" },
  stats: { load: L.stats, short: "Display a live stream of container(s) resource usage statistics" },
  cp: { load: L.cp, short: "Copy files/folders between a container and the local filesystem" },
  compose: { load: L.compose, short: "Define and run multi-container applications with Berth" },
};

const GROUPS: Record<string, { short: string; commands: Record<string, Entry> }> = {
  container: {
    short: "Manage containers",
    commands: {
      create: TOP.create as Entry,
      exec: TOP.exec as Entry,
      inspect: {
        load: L.inspect,
        short: "Display detailed information on one or more containers",
        variant: "container",
      },
      kill: TOP.kill as Entry,
      logs: TOP.logs as Entry,
      port: TOP.port as Entry,
      ls: { load: L.ps, short: "List containers" },
      list: { load: L.ps, short: "List containers" },
      ps: { load: L.ps, short: "List containers" },
      prune: { load: L.containerPrune, short: "Remove all stopped containers" },
      remove: TOP.rm as Entry,
      restart: TOP.restart as Entry,
      rm: { load: L.rm, short: "Remove one or more containers" },
      run: TOP.run as Entry,
      start: TOP.start as Entry,
      stop: TOP.stop as Entry,
      wait: TOP.wait as Entry,
      pause: TOP.pause as Entry,
      unpause: TOP.unpause as Entry,
      rename: TOP.rename as Entry,
      top: TOP.top as Entry,
      diff: TOP.diff as Entry,
      commit: TOP.commit as Entry,
      export: TOP.export as Entry,
      update: TOP.update as Entry,
      stats: TOP.stats as Entry,
      cp: TOP.cp as Entry,
    },
  },
  image: {
    short: "Manage images",
    commands: {
      build: TOP.build as Entry,
      import: TOP.import as Entry,
      load: TOP.load as Entry,
      save: TOP.save as Entry,
      inspect: {
        load: L.inspect,
        short: "Display detailed information on one or more images",
        variant: "image",
      },
      ls: { load: L.images, short: "List images" },
      list: { load: L.images, short: "List images" },
      prune: { load: L.imagePrune, short: "Remove unused images" },
      remove: TOP.rmi as Entry,
      rm: { load: L.rmi, short: "Remove one or more images" },
      tag: TOP.tag as Entry,
      pull: TOP.pull as Entry,
      push: TOP.push as Entry,
    },
  },
  builder: {
    short: "Manage builds",
    commands: {
      build: TOP.build as Entry,
      prune: { load: L.builderPrune, short: "Remove build cache" },
    },
  },
  volume: {
    short: "Manage volumes",
    commands: {
      create: { load: L.volumeCreate, short: "Create a volume" },
      inspect: {
        load: L.inspect,
        short: "Display detailed information on one or more volumes",
        variant: "volume",
      },
      ls: { load: L.volumeLs, short: "List volumes" },
      list: { load: L.volumeLs, short: "List volumes" },
      prune: { load: L.volumePrune, short: "Remove unused local volumes" },
      rm: { load: L.volumeRm, short: "Remove one or more volumes" },
      remove: { load: L.volumeRm, short: "Remove one or more volumes" },
    },
  },
  network: {
    short: "Manage networks",
    commands: {
      connect: { load: L.networkConnect, short: "Connect a container to a network" },
      create: { load: L.networkCreate, short: "Create a network" },
      disconnect: { load: L.networkDisconnect, short: "Disconnect a container from a network" },
      inspect: {
        load: L.inspect,
        short: "Display detailed information on one or more networks",
        variant: "network",
      },
      ls: { load: L.networkLs, short: "List networks" },
      list: { load: L.networkLs, short: "List networks" },
      prune: { load: L.networkPrune, short: "Remove all unused networks" },
      rm: { load: L.networkRm, short: "Remove one or more networks" },
      remove: { load: L.networkRm, short: "Remove one or more networks" },
    },
  },
  system: {
    short: "Manage Berth",
    commands: {
      info: TOP.info as Entry,
      df: { load: L.systemDf, short: "Show berth disk usage" },
      events: TOP.events as Entry,
      prune: { load: L.systemPrune, short: "Remove unused data" },
    },
  },
};

const HIDDEN_ALIASES = new Set(["list", "remove", "ps"]);

function write(stream: NodeJS.WriteStream, text: string): void {
  stream.write(text);
}

function rootHelp(): string {
  const common = ["run", "ps", "images", "version", "info"];
  const pad = (s: string) => s.padEnd(12);
  let out =
    "Usage:  berth [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers (Docker compatible)\n\nCommon Commands:\n";
  for (const c of common) out += `  ${pad(c)}${(TOP[c] as Entry).short}\n`;
  out += "\nManagement Commands:\n";
  for (const [g, v] of Object.entries(GROUPS)) out += `  ${pad(g)}${v.short}\n`;
  out += "\nCommands:\n";
  for (const c of Object.keys(TOP)
    .filter((c) => !common.includes(c))
    .sort()) {
    out += `  ${pad(c)}${(TOP[c] as Entry).short}\n`;
  }
  out +=
    "\nGlobal Options:\n" +
    "  -D, --debug              Enable debug mode\n" +
    "  -H, --host string        Daemon socket to connect to (default unix:///run/berth/berth.sock)\n" +
    "  -v, --version            Print version information and quit\n" +
    "\nRun 'berth COMMAND --help' for more information on a command.\n";
  return out;
}

function groupHelp(name: string): string {
  const g = GROUPS[name] as (typeof GROUPS)[string];
  let out = `Usage:  berth ${name} COMMAND\n\n${g.short}\n\nCommands:\n`;
  for (const [c, e] of Object.entries(g.commands).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (HIDDEN_ALIASES.has(c) && name !== "container") continue;
    if (name === "container" && (c === "list" || c === "ps" || c === "remove")) continue;
    out += `  ${c.padEnd(12)}${e.short}\n`;
  }
  out += `\nRun 'berth ${name} COMMAND --help' for more information on a command.\n`;
  return out;
}

const ROOT_USAGE = "Usage:  berth [OPTIONS] COMMAND [ARG...]";

/** main runs the CLI and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let host: string | undefined;
  let i = 0;
  // global flags (before the command)
  const flagError = (msg: string): number => {
    write(process.stderr, `${msg}\n\n${ROOT_USAGE}\n\nRun 'berth --help' for more information\n`);
    return 125;
  };
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith("-") || a === "-") break;
    if (a === "--") {
      i++;
      break;
    }
    const [name, inline] = a.startsWith("--")
      ? a.includes("=")
        ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]
        : [a, undefined]
      : [a.slice(0, 2), a.length > 2 ? a.slice(2).replace(/^=/, "") : undefined];
    const takeValue = (): string | undefined => {
      if (inline !== undefined) return inline;
      if (i + 1 < argv.length) return argv[++i];
      return undefined;
    };
    switch (name) {
      case "-H":
      case "--host": {
        const v = takeValue();
        if (v === undefined)
          return flagError(
            name === "-H" ? "flag needs an argument: 'H' in -H" : "flag needs an argument: --host",
          );
        host = v;
        break;
      }
      case "-l":
      case "--log-level":
      case "--config":
      case "-c":
      case "--context":
      case "--tlscacert":
      case "--tlscert":
      case "--tlskey": {
        if (takeValue() === undefined) return flagError(`flag needs an argument: ${name}`);
        break;
      }
      case "-D":
      case "--debug":
      case "--tls":
      case "--tlsverify":
        break;
      case "-v":
      case "--version":
        write(process.stdout, `Berth version ${VERSION}, build dev\n`);
        return 0;
      case "-h":
      case "--help":
        write(process.stdout, rootHelp());
        return 0;
      default:
        return flagError(
          a.startsWith("--") ? `unknown flag: ${name}` : `unknown shorthand flag: '${a[1]}' in ${a}`,
        );
    }
  }
  const word = argv[i];
  if (word === undefined) {
    write(process.stdout, rootHelp());
    return 0;
  }
  if (word === "help") {
    write(process.stdout, rootHelp());
    return 0;
  }
  let entry: Entry | undefined;
  let path: string;
  let rest: readonly string[];
  const group = GROUPS[word];
  if (group) {
    const sub = argv[i + 1];
    if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
      write(process.stdout, groupHelp(word));
      return 0;
    }
    entry = group.commands[sub];
    path = `berth ${word} ${sub}`;
    rest = argv.slice(i + 2);
    if (!entry) {
      write(
        process.stderr,
        `berth: unknown command: berth ${word} ${sub}\n\nUsage:  berth ${word} COMMAND\n\nRun 'berth ${word} --help' for more information\n`,
      );
      return 1;
    }
  } else {
    entry = TOP[word];
    path = `berth ${word}`;
    rest = argv.slice(i + 1);
    if (!entry) {
      write(
        process.stderr,
        `berth: unknown command: berth ${word}\n\nRun 'berth --help' for more information\n`,
      );
      return 1;
    }
  }

  const [{ command }, cmdlib] = await Promise.all([entry.load(), import("./Command.ts")]);
  let client: Client | undefined;
  try {
    const line = cmdlib.parseCommandLine(path, command.spec, rest);
    if (line.help) {
      write(process.stdout, cmdlib.helpText(path, command.spec));
      return 0;
    }
    const globals: Globals = { host };
    return await command.run({
      path,
      spec: command.spec,
      parsed: line.parsed,
      globals,
      ...(entry.variant === undefined ? {} : { variant: entry.variant }),
      client: async () => {
        if (!client) {
          const { createClient } = await import("./Connect.ts");
          client = await createClient(host);
        }
        return client;
      },
    });
  } catch (err) {
    if (err instanceof cmdlib.StatusError) {
      if (err.message !== "") write(process.stderr, `${err.message}\n`);
      return err.exitCode;
    }
    const { describeError } = await import("./daemonError.ts");
    write(process.stderr, `${describeError(err)}\n`);
    return 1;
  } finally {
    try {
      (client as Client | undefined)?.close();
    } catch {
      // ignore
    }
  }
}

const code = await main(process.argv.slice(2));
if (process.stdout.writableNeedDrain) await new Promise((r) => process.stdout.once("drain", r));
process.exit(code);
