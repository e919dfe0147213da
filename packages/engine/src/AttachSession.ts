import { PassThrough } from "node:stream";
import type { RuntimeAttach } from "./backends.ts";

/** What an attach asks for, as docker's attach query says. */
export interface AttachOptions {
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  /** Replay the container's log before streaming (docker's `logs=1`). */
  logs?: boolean;
  /** Stream live output (docker's `stream=1`). */
  stream?: boolean;
}

/**
 * AttachSession is one client's view of a container's stdio: `stdout` and `stderr` carry the
 * container's output (both end when the container's stdio closes), `stdin` takes the client's
 * input. It may be created before the container starts; the engine connects it to the runtime
 * right after the runtime created the container and before the process runs, so no output is lost.
 */
export class AttachSession {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly stdin = new PassThrough();
  readonly options: AttachOptions;
  /** Whether ending `stdin` closes the container's stdin (docker's StdinOnce). */
  readonly stdinOnce: boolean;
  #runtime: RuntimeAttach | undefined;
  #closed = false;

  constructor(options: AttachOptions, stdinOnce: boolean) {
    this.options = options;
    this.stdinOnce = stdinOnce;
  }

  get connected(): boolean {
    return this.#runtime !== undefined;
  }

  /** connect wires this session to a runtime attach connection. */
  connect(rt: RuntimeAttach): void {
    if (this.#closed) {
      rt.close();
      return;
    }
    this.#runtime = rt;
    let open = 2;
    const done = () => {
      open -= 1;
      if (open === 0) this.#finish();
    };
    rt.stdout.on("data", (b: Buffer) => {
      if (this.options.stdout !== false) this.stdout.write(b);
    });
    rt.stderr.on("data", (b: Buffer) => {
      if (this.options.stderr !== false) this.stderr.write(b);
    });
    rt.stdout.once("end", done);
    rt.stderr.once("end", done);
    rt.stdout.once("error", done);
    rt.stderr.once("error", done);
    if (this.options.stdin) {
      this.stdin.on("data", (b: Buffer) => rt.stdin.write(b));
      this.stdin.once("end", () => {
        if (this.stdinOnce) rt.closeStdin();
      });
    }
  }

  /** finish ends the output streams: the container's stdio is gone. */
  #finish(): void {
    if (!this.stdout.writableEnded) this.stdout.end();
    if (!this.stderr.writableEnded) this.stderr.end();
    this.#runtime?.close();
  }

  /** endOutput is used when the container ends without a runtime connection (e.g. start failed). */
  endOutput(): void {
    this.#finish();
  }

  /** close drops the client side: the container keeps running. */
  close(): void {
    this.#closed = true;
    this.#runtime?.close();
    this.#finish();
  }
}
