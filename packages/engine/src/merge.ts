import { InvalidArgument } from "@berth/errdefs";
import type { ImageRef } from "./backends.ts";
import type { ContainerConfig } from "./types.ts";

/** DEFAULT_PATH is the PATH docker gives Linux containers whose image sets none. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function envKey(entry: string): string {
  const eq = entry.indexOf("=");
  return eq < 0 ? entry : entry.slice(0, eq);
}

/**
 * mergeImageConfig fills a container config from its image the way docker's daemon does at create:
 * the user's Env comes first and image variables whose names the user did not set follow; Cmd and
 * Entrypoint come from the image only when the user gave no Entrypoint (and Cmd only when the user
 * gave no Cmd either); User, WorkingDir, ExposedPorts, Volumes, StopSignal, Healthcheck, Labels
 * default to the image's. Image data never becomes daemon control input: it is only copied.
 */
export function mergeImageConfig(user: ContainerConfig, image: ImageRef): ContainerConfig {
  const img = image.config.config ?? {};
  const out: ContainerConfig = { ...user };
  const env = [...(user.Env ?? [])];
  const seen = new Set(env.map(envKey));
  for (const e of img.Env ?? []) {
    if (!seen.has(envKey(e))) {
      env.push(e);
      seen.add(envKey(e));
    }
  }
  if (!seen.has("PATH")) env.push(`PATH=${DEFAULT_PATH}`);
  out.Env = env;
  if (!user.Entrypoint || user.Entrypoint.length === 0) {
    if (!user.Cmd || user.Cmd.length === 0) {
      out.Cmd = img.Cmd ?? null;
      if (img.ArgsEscaped !== undefined) out.ArgsEscaped = img.ArgsEscaped;
    }
    if (user.Entrypoint === undefined || user.Entrypoint === null) out.Entrypoint = img.Entrypoint ?? null;
  }
  if (!user.User) out.User = img.User ?? "";
  if (!user.WorkingDir) out.WorkingDir = img.WorkingDir ?? "";
  if (!user.StopSignal && img.StopSignal) out.StopSignal = img.StopSignal;
  if (user.Healthcheck === undefined || user.Healthcheck === null) {
    if (img.Healthcheck) out.Healthcheck = img.Healthcheck;
  } else if (img.Healthcheck) {
    // As dockerd: unset fields of the user's healthcheck (empty Test, zero durations) come from the image's.
    const mine = { ...(user.Healthcheck as Record<string, unknown>) };
    const theirs = img.Healthcheck as Record<string, unknown>;
    if (!Array.isArray(mine.Test) || mine.Test.length === 0) mine.Test = theirs.Test;
    for (const k of ["Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"]) {
      if (!mine[k] && theirs[k]) mine[k] = theirs[k];
    }
    out.Healthcheck = mine;
  }
  if (img.ExposedPorts && Object.keys(img.ExposedPorts).length > 0) {
    out.ExposedPorts = { ...img.ExposedPorts, ...(user.ExposedPorts ?? {}) };
  }
  if (img.Volumes && Object.keys(img.Volumes).length > 0) {
    out.Volumes = { ...img.Volumes, ...(user.Volumes ?? {}) };
  }
  out.Labels = { ...(img.Labels ?? {}), ...(user.Labels ?? {}) };
  if (!user.OnBuild) out.OnBuild = img.OnBuild ?? null;
  return out;
}

/** commandOf splits the merged Entrypoint + Cmd into docker's `Path` and `Args`. */
export function commandOf(config: ContainerConfig): { path: string; args: string[] } {
  const argv = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
  const path = argv[0];
  if (path === undefined || path === "") throw new InvalidArgument("No command specified");
  return { path, args: argv.slice(1) };
}
