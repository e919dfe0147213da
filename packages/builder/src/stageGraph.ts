import type { Stage } from "@berth/dockerfile";

/** StagePlan is one stage the build must run, with the earlier stages it waits for. */
export interface StagePlan {
  readonly stage: Stage;
  /** Indexes of the stages this one reads: its FROM, `COPY --from`, `RUN --mount from=`. */
  readonly deps: readonly number[];
  /** Index of the earlier stage this one starts FROM, when its base is a stage. */
  readonly fromStage?: number;
}

/**
 * stageRefs lists the names a stage reads other stages or images by: its (expanded) base image,
 * every `COPY --from` and every `RUN --mount ... from=`, lower-cased.
 */
export function stageRefs(stage: Stage, baseName: string): string[] {
  const refs = [baseName.toLowerCase()];
  for (const c of stage.commands) {
    if (c.kind === "COPY" && c.from !== undefined && c.from !== "") refs.push(c.from.toLowerCase());
    if (c.kind === "RUN") {
      for (const m of c.mounts) if (m.from !== undefined && m.from !== "") refs.push(m.from.toLowerCase());
    }
  }
  return refs;
}

/**
 * planStages is the stage graph BuildKit solves: the target and, transitively, the stages it
 * reads (by name or by index, only earlier stages), in Dockerfile order. Stages the target does
 * not need are left out (the classic builder ran them all). `baseNames[i]` is stage i's base
 * image after meta-ARG expansion.
 */
export function planStages(
  stages: readonly Stage[],
  baseNames: readonly string[],
  target: number,
): StagePlan[] {
  const byRef = (ref: string, before: number): number | undefined => {
    for (let i = 0; i < before; i++) {
      const s = stages[i] as Stage;
      if (s.name === ref || String(s.index) === ref) return i;
    }
    return undefined;
  };
  const depsOf = new Map<number, number[]>();
  const fromOf = new Map<number, number>();
  const need = new Set<number>();
  const visit = (i: number) => {
    if (need.has(i)) return;
    need.add(i);
    const deps = new Set<number>();
    const from = byRef((baseNames[i] as string).toLowerCase(), i);
    if (from !== undefined) fromOf.set(i, from);
    for (const ref of stageRefs(stages[i] as Stage, baseNames[i] as string)) {
      const d = byRef(ref, i);
      if (d !== undefined) deps.add(d);
    }
    depsOf.set(
      i,
      [...deps].sort((a, b) => a - b),
    );
    for (const d of deps) visit(d);
  };
  visit(target);
  return [...need]
    .sort((a, b) => a - b)
    .map((i) => {
      const from = fromOf.get(i);
      return {
        stage: stages[i] as Stage,
        deps: depsOf.get(i) ?? [],
        ...(from === undefined ? {} : { fromStage: from }),
      };
    });
}
