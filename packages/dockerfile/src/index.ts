export * from "./DockerfileError.ts";
export type { Directive } from "./parser/directives.ts";
export { chompHeredocContent, parseHeredoc } from "./parser/heredoc.ts";
export { dump, type Heredoc, type Node, nodeArgs } from "./parser/Node.ts";
export { MAX_LINE_BYTES, type ParseOptions, type ParseResult, parse, type Warning } from "./parser/parse.ts";
export { type EnvLookup, Lex, type LexOptions, type ProcessResult } from "./shell/Lex.ts";
