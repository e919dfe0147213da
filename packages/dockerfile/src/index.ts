export * from "./DockerfileError.ts";
export { cleanPath } from "./ignore/cleanPath.ts";
export { DockerIgnore, type IgnorePattern } from "./ignore/DockerIgnore.ts";
export * from "./instructions/Instruction.ts";
export { parseDuration } from "./instructions/parseDuration.ts";
export { INSTRUCTION_NAMES, parseInstruction, parseInstructions } from "./instructions/parseInstruction.ts";
export {
  csvFields,
  type Mount,
  type MountType,
  parseMount,
  ramInBytes,
  type ShareMode,
} from "./instructions/parseMount.ts";
export { parseStages, type Stage, type Stages } from "./instructions/parseStages.ts";
export type { Directive } from "./parser/directives.ts";
export { chompHeredocContent, parseHeredoc } from "./parser/heredoc.ts";
export { dump, type Heredoc, type Node, nodeArgs } from "./parser/Node.ts";
export { MAX_LINE_BYTES, type ParseOptions, type ParseResult, parse, type Warning } from "./parser/parse.ts";
export { type EnvLookup, Lex, type LexOptions, type ProcessResult } from "./shell/Lex.ts";
export { suggest } from "./suggest.ts";
