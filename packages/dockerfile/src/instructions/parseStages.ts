import { DockerfileError, SourceText } from "../DockerfileError.ts";
import type { ParseResult } from "../parser/parse.ts";
import type { ArgInstruction, Command, FromInstruction } from "./Instruction.ts";
import { parseInstruction } from "./parseInstruction.ts";

/** Stage is one `FROM ... [AS name]` and the commands up to the next FROM. */
export interface Stage {
  /** Stage name (lower-cased), when given with `AS`. */
  readonly name?: string;
  /** Base image or earlier stage name, unexpanded (meta ARGs apply). */
  readonly baseImage: string;
  /** `--platform`, unexpanded. */
  readonly platform?: string;
  /** Position among the stages, 0-based (a stage can be referenced by index in `COPY --from=0`). */
  readonly index: number;
  readonly from: FromInstruction;
  readonly commands: Command[];
}

/** Stages is a Dockerfile grouped for building: ARGs before the first FROM, then the stages. */
export interface Stages {
  /** ARG instructions before the first FROM (usable in FROM lines). */
  readonly metaArgs: ArgInstruction[];
  readonly stages: Stage[];
}

/**
 * parseStages types every instruction and groups them into stages. ARGs before the first FROM
 * are meta args; any other instruction before the first FROM is an error
 * (`no build stage in current context`). Duplicate stage names are an error.
 */
export function parseStages(result: ParseResult): Stages {
  const src = new SourceText(result.file, result.text);
  const metaArgs: ArgInstruction[] = [];
  const stages: { -readonly [K in keyof Stage]: Stage[K] }[] = [];
  const seen = new Map<string, number>();
  for (const node of result.ast.children) {
    const inst = parseInstruction(node, src);
    if (inst.kind === "FROM") {
      if (inst.name !== undefined) {
        const prev = seen.get(inst.name);
        if (prev !== undefined) {
          throw new DockerfileError(
            `duplicate stage name "${inst.name}", stage names should be unique (first defined on line ${prev})`,
            src.location(node.startLine, node.endLine),
          );
        }
        seen.set(inst.name, node.startLine);
      }
      stages.push({
        ...(inst.name !== undefined && { name: inst.name }),
        baseImage: inst.image,
        ...(inst.platform !== undefined && { platform: inst.platform }),
        index: stages.length,
        from: inst,
        commands: [],
      });
      continue;
    }
    const current = stages[stages.length - 1];
    if (current === undefined) {
      if (inst.kind === "ARG") {
        metaArgs.push(inst);
        continue;
      }
      throw new DockerfileError(
        "no build stage in current context",
        src.location(node.startLine, node.endLine),
      );
    }
    current.commands.push(inst);
  }
  return { metaArgs, stages };
}
