/**
 * createContainer: the create step shared by `run` and `create`: `POST /containers/create`,
 * and when the image is missing locally (404) docker's implicit pull (`Unable to find image
 * 'x' locally`, `POST /images/create?fromImage=&tag=` with the progress printed to stderr) and a
 * second create. Also docker's mapping of run errors to exit codes (125/126/127).
 *
 * @since 0.1.0
 */
import type { Client } from "@berth/client";
import { TerminalSession } from "../AttachIO.ts";
import { BIN, StatusError } from "../Command.ts";
import { describeError, isNotFound } from "../daemonError.ts";
import type { ParsedArgs } from "../FlagParser.ts";
import { buildCreateRequest, type CreateRequest } from "../RunConfig.ts";

/** withHelp is docker's withHelp: `berth: <err>\n\nRun 'berth <cmd> --help' for more information`. */
export function withHelp(message: string, cmd: string): string {
  return `${BIN}: ${message}\n\nRun '${BIN} ${cmd} --help' for more information`;
}

/**
 * parseCreateRequest builds the create request of `run`/`create` for the current terminal size;
 * a bad flag value exits 125 with docker's `--help` hint.
 */
export function parseCreateRequest(p: ParsedArgs, detach: boolean, cmd: string): CreateRequest {
  try {
    return buildCreateRequest(p, { consoleSize: TerminalSession.size() }, detach);
  } catch (err) {
    throw new StatusError(withHelp((err as Error).message, cmd), 125);
  }
}

/**
 * runStatusError is docker's toStatusError: 127 when the start error says the executable is not
 * found, 126 when it says permission denied / is a directory, else 125.
 */
export function runStatusError(err: unknown, cmd: string): StatusError {
  if (err instanceof StatusError) return err;
  const msg = describeError(err);
  let code = 125;
  if (/executable file not found|no such file or directory|system cannot find the file specified/.test(msg))
    code = 127;
  else if (/permission denied|is a directory/.test(msg)) code = 126;
  return new StatusError(withHelp(msg, cmd), code);
}

/** splitReference splits `name[:tag][@digest]` into the pull query (`fromImage`, `tag`). */
export function splitReference(image: string): { fromImage: string; tag: string; display: string } {
  const at = image.indexOf("@");
  if (at >= 0) return { fromImage: image.slice(0, at), tag: image.slice(at + 1), display: image };
  const slash = image.lastIndexOf("/");
  const colon = image.lastIndexOf(":");
  if (colon > slash) return { fromImage: image.slice(0, colon), tag: image.slice(colon + 1), display: image };
  return { fromImage: image, tag: "latest", display: `${image}:latest` };
}

/** pullImage runs `POST /images/create?fromImage=...` and prints docker's progress (bars on a terminal) to stderr. */
export async function pullImage(client: Client, image: string, quiet: boolean): Promise<void> {
  const ref = splitReference(image);
  const res = await client.requestStream("POST", "/images/create", {
    query: { fromImage: ref.fromImage, tag: ref.tag },
    headers: { "X-Registry-Auth": await (await import("../registryAuth.ts")).registryAuthFor(image) },
  });
  const { printProgress } = await import("../printProgress.ts");
  await printProgress(res, process.stderr, quiet);
}

/** createContainer creates the container (pulling per `--pull`) and returns its ID. */
export async function createContainer(
  client: Client,
  req: CreateRequest,
  pull: string,
  quiet: boolean,
  cmd: string,
): Promise<string> {
  if (pull !== "always" && pull !== "missing" && pull !== "never") {
    throw new StatusError(
      withHelp(`invalid pull option: '${pull}': must be one of "always", "missing" or "never"`, cmd),
      125,
    );
  }
  const opts = {
    ...(req.name === undefined ? {} : { name: req.name }),
    ...(req.platform === undefined ? {} : { platform: req.platform }),
  };
  // biome-ignore lint/suspicious/noExplicitAny: the body mirrors docker's JSON exactly, wider than the generated type
  const body = req.body as any;
  try {
    if (pull === "always") await pullImage(client, req.image, quiet);
    let created: { Id: string; Warnings: string[] };
    try {
      created = await client.containerCreate(body, opts);
    } catch (err) {
      if (!isNotFound(err) || pull !== "missing") throw err;
      const ref = splitReference(req.image);
      process.stderr.write(`Unable to find image '${ref.display}' locally\n`);
      await pullImage(client, req.image, quiet);
      created = await client.containerCreate(body, opts);
    }
    for (const w of created.Warnings) process.stderr.write(`WARNING: ${w}\n`);
    return created.Id;
  } catch (err) {
    throw runStatusError(err, cmd);
  }
}
