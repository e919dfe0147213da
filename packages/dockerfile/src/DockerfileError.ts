import { InvalidArgument } from "@berth/errdefs";

/** Where in a Dockerfile an error is, 1-based; `endLine` is the last line of the instruction. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly endLine: number;
  readonly column: number;
  /** The text of `line`, without its line ending. */
  readonly sourceLine: string;
}

/**
 * DockerfileError is an InvalidArgument raised for a problem in Dockerfile text. Its message is
 * `<file>:<line>: <detail>` (e.g. `Dockerfile:7: unknown instruction: RUNN (did you mean RUN?)`),
 * and it carries the location and the offending source line so a CLI can print context.
 */
export class DockerfileError extends InvalidArgument implements SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly endLine: number;
  readonly column: number;
  readonly sourceLine: string;
  /** The message without the `<file>:<line>: ` prefix. */
  readonly detail: string;

  constructor(detail: string, location: SourceLocation, options: { cause?: unknown; hint?: string } = {}) {
    super(`${location.file}:${location.line}: ${detail}`, { code: "ERR_DOCKERFILE_PARSE", ...options });
    this.file = location.file;
    this.line = location.line;
    this.endLine = location.endLine;
    this.column = location.column;
    this.sourceLine = location.sourceLine;
    this.detail = detail;
  }
}

/** SourceText indexes Dockerfile text by line, to build {@link SourceLocation}s. */
export class SourceText {
  readonly file: string;
  readonly lines: readonly string[];

  constructor(file: string, text: string) {
    this.file = file;
    this.lines = text.split("\n").map((l) => l.replace(/\r+$/, ""));
  }

  /** location of 1-based `line` (clamped to the text); column is the first non-blank character. */
  location(line: number, endLine = line): SourceLocation {
    const l = Math.max(1, Math.min(line, this.lines.length));
    const sourceLine = this.lines[l - 1] ?? "";
    const indent = /^[ \t]*/.exec(sourceLine)?.[0].length ?? 0;
    return { file: this.file, line: l, endLine: Math.max(l, endLine), column: indent + 1, sourceLine };
  }

  /** error makes a DockerfileError at `line`. */
  error(detail: string, line: number, endLine = line): DockerfileError {
    return new DockerfileError(detail, this.location(line, endLine));
  }
}
