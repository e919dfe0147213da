/**
 * `berth compose up`: converge the project (networks, volumes, containers in depends_on order,
 * recreating only services whose config-hash changed); without `-d` follow the logs until the
 * containers exit or Ctrl-C stops them.
 *
 * @since 0.1.0
 */
import { StatusError } from "../Command.ts";
import { bool, int, list, str } from "../FlagParser.ts";
import type { ComposeSubcommand } from "./composeContext.ts";
import { LogPrinter } from "./composeLogPrinter.ts";

/** parseScale reads `--scale svc=N` flags. */
export function parseScale(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) {
    const i = v.indexOf("=");
    const n = Number(v.slice(i + 1));
    if (i <= 0 || !Number.isInteger(n) || n < 0) {
      throw new StatusError(`invalid --scale ${JSON.stringify(v)}, expected SERVICE=NUM`, 1);
    }
    out[v.slice(0, i)] = n;
  }
  return out;
}

/** subcommand is `berth compose up`. */
export const subcommand: ComposeSubcommand = {
  spec: {
    name: "compose up",
    use: "[OPTIONS] [SERVICE...]",
    short: "Create and start containers",
    flags: [
      { name: "detach", short: "d", type: "bool", usage: "Detached mode: Run containers in the background" },
      { name: "build", type: "bool", usage: "Build images before starting containers" },
      { name: "no-build", type: "bool", usage: "Don't build an image, even if it's policy" },
      {
        name: "scale",
        type: "list",
        valueName: "scale",
        usage: "Scale SERVICE to NUM instances. Overrides the scale setting in the Compose file if present.",
      },
      {
        name: "wait",
        type: "bool",
        usage: "Wait for services to be running|healthy. Implies detached mode.",
      },
      {
        name: "wait-timeout",
        type: "int",
        usage: "Maximum duration in seconds to wait for the project to be running|healthy",
      },
      {
        name: "force-recreate",
        type: "bool",
        usage: "Recreate containers even if their configuration and image haven't changed",
      },
      {
        name: "no-recreate",
        type: "bool",
        usage: "If containers already exist, don't recreate them. Incompatible with --force-recreate.",
      },
      { name: "no-deps", type: "bool", usage: "Don't start linked services" },
      {
        name: "remove-orphans",
        type: "bool",
        usage: "Remove containers for services not defined in the Compose file",
      },
      { name: "no-start", type: "bool", usage: "Don't start the services after creating them" },
      {
        name: "pull",
        type: "string",
        usage: 'Pull image before running ("always"|"missing"|"never")',
        defaultText: '"policy"',
      },
      { name: "quiet-pull", type: "bool", usage: "Pull without printing progress information" },
      {
        name: "timeout",
        short: "t",
        type: "int",
        usage:
          "Use this timeout in seconds for container shutdown when attached or when containers are already running",
      },
      { name: "no-color", type: "bool", usage: "Produce monochrome output" },
      { name: "no-log-prefix", type: "bool", usage: "Don't print prefix in logs" },
      {
        name: "abort-on-container-exit",
        type: "bool",
        usage: "Stops all containers if any container was stopped. Incompatible with -d",
      },
      {
        name: "exit-code-from",
        type: "string",
        usage: "Return the exit code of the selected service container. Implies --abort-on-container-exit",
      },
    ],
    args: { kind: "any" },
  },
  async run(ctx) {
    const p = ctx.parsed;
    if (bool(p, "force-recreate") && bool(p, "no-recreate")) {
      throw new StatusError("--force-recreate and --no-recreate are incompatible", 1);
    }
    const pull = str(p, "pull");
    if (pull !== undefined && pull !== "always" && pull !== "missing" && pull !== "never") {
      throw new StatusError(`invalid --pull option ${JSON.stringify(pull)}`, 1);
    }
    const wait = bool(p, "wait");
    const detach = bool(p, "detach") || wait;
    const exitCodeFrom = str(p, "exit-code-from");
    const abortOnExit = bool(p, "abort-on-container-exit") || exitCodeFrom !== undefined;
    if (abortOnExit && detach) {
      throw new StatusError("--abort-on-container-exit and --detach are incompatible", 1);
    }
    const compose = await ctx.compose();
    const services = p.args;
    const waitTimeout = int(p, "wait-timeout");
    await compose.up({
      services,
      scale: parseScale(list(p, "scale")),
      ...(bool(p, "build") ? { build: true } : {}),
      ...(bool(p, "no-build") ? { noBuild: true } : {}),
      ...(wait ? { wait: true } : {}),
      ...(waitTimeout !== undefined ? { waitTimeoutMs: waitTimeout * 1000 } : {}),
      ...(bool(p, "force-recreate") ? { forceRecreate: true } : {}),
      ...(bool(p, "no-recreate") ? { noRecreate: true } : {}),
      ...(bool(p, "no-deps") ? { noDeps: true } : {}),
      ...(bool(p, "remove-orphans") ? { removeOrphans: true } : {}),
      ...(bool(p, "no-start") ? { noStart: true } : {}),
      ...(pull ? { pull } : {}),
    });
    if (detach || bool(p, "no-start")) return 0;
    const abort = new AbortController();
    // Attach to the project's services only (not to orphans of an earlier version of the file).
    const attached = services.length > 0 ? services : Object.keys(compose.project.services);
    const containers = await compose.containers({ services: attached, oneoff: false });
    const printer = new LogPrinter(
      compose.project.name,
      containers.map((c) => c.name),
      {
        ...(bool(p, "no-color") ? { colour: false } : {}),
        ...(bool(p, "no-log-prefix") ? { prefix: false } : {}),
      },
    );
    process.stdout.write(`Attaching to ${containers.map((c) => printer.label(c.name)).join(", ")}\n`);
    let interrupted = false;
    let firstExited: (typeof containers)[number] | undefined;
    const onSignal = () => {
      if (interrupted) process.exit(130);
      interrupted = true;
      process.stderr.write("Gracefully stopping... (press Ctrl+C again to force)\n");
      abort.abort();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    try {
      for await (const line of compose.logs({
        services: attached,
        follow: true,
        tail: "all",
        signal: abort.signal,
        onEnd: (c) => {
          if (!abortOnExit || firstExited !== undefined) return;
          firstExited = c;
          abort.abort();
        },
      })) {
        printer.write(line);
      }
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
    if (firstExited !== undefined) {
      process.stderr.write("Aborting on container exit...\n");
      const t = int(p, "timeout");
      const exited = await compose.client.containerInspect(firstExited.id).catch(() => undefined);
      process.stdout.write(
        `${printer.label(firstExited.name)} exited with code ${exited?.State?.ExitCode ?? 0}\n`,
      );
      await compose.stop(services, t === undefined ? {} : { timeout: t });
      const from =
        exitCodeFrom === undefined ? firstExited : containers.find((c) => c.service === exitCodeFrom);
      if (!from) throw new StatusError(`no such service: ${exitCodeFrom}`, 1);
      const info = await compose.client.containerInspect(from.id);
      return info.State?.ExitCode ?? 0;
    }
    if (!interrupted) {
      for (const c of containers) {
        const info = await compose.client.containerInspect(c.id).catch(() => undefined);
        if (info?.State && !info.State.Running) {
          process.stdout.write(`${printer.label(c.name)} exited with code ${info.State.ExitCode ?? 0}\n`);
        }
      }
    }
    const t = int(p, "timeout");
    if (interrupted) {
      await compose.stop(services, t === undefined ? {} : { timeout: t });
      return 130;
    }
    return 0;
  },
};
