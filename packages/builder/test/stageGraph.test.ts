import { parse, parseStages } from "@berth/dockerfile";
import { describe, expect, it } from "vitest";
import { OrderedProgress } from "../src/OrderedProgress.ts";
import { planStages } from "../src/stageGraph.ts";
import type { BuildProgress } from "../src/types.ts";

function plan(text: string, target?: number) {
  const { stages } = parseStages(parse(text, { file: "Dockerfile" }));
  return planStages(
    stages,
    stages.map((s) => s.baseImage),
    target ?? stages.length - 1,
  ).map((p) => ({ i: p.stage.index, deps: p.deps, from: p.fromStage }));
}

describe("planStages", () => {
  it("keeps only the stages the target reads, through FROM, COPY --from (name or index) and RUN --mount from=", () => {
    const df = `FROM busybox AS a
FROM busybox AS unused
FROM a AS b
FROM busybox AS c
FROM busybox AS d
FROM busybox
COPY --from=b / /b
COPY --from=3 / /c
RUN --mount=type=bind,from=d,target=/d true
COPY --from=alpine / /x
`;
    expect(plan(df)).toEqual([
      { i: 0, deps: [], from: undefined },
      { i: 2, deps: [0], from: 0 },
      { i: 3, deps: [], from: undefined },
      { i: 4, deps: [], from: undefined },
      { i: 5, deps: [2, 3, 4], from: undefined },
    ]);
    expect(plan(df, 2).map((p) => p.i)).toEqual([0, 2]);
  });

  it("a name defined later is an image, not a stage", () => {
    expect(plan("FROM later AS x\nFROM busybox AS later\nCOPY --from=x / /\n")).toEqual([
      { i: 0, deps: [], from: undefined },
      { i: 1, deps: [0], from: undefined },
    ]);
  });
});

describe("OrderedProgress", () => {
  const ev = (s: string): BuildProgress => ({ kind: "warning", stream: s });
  it("writes channel 0 through and later channels in order once the earlier ones close", () => {
    const out: string[] = [];
    const o = new OrderedProgress(3, (e) => out.push(e.stream));
    o.emitter(2)(ev("c1"));
    o.emitter(1)(ev("b1"));
    o.emitter(0)(ev("a1"));
    expect(out).toEqual(["a1"]);
    o.close(2);
    expect(out).toEqual(["a1"]);
    o.close(0);
    expect(out).toEqual(["a1", "b1"]);
    o.emitter(1)(ev("b2"));
    expect(out).toEqual(["a1", "b1", "b2"]);
    o.close(1);
    expect(out).toEqual(["a1", "b1", "b2", "c1"]);
  });

  it("after a failure, flushes up to the failed channel and drops the rest", () => {
    const out: string[] = [];
    const o = new OrderedProgress(3, (e) => out.push(e.stream));
    o.emitter(0)(ev("a"));
    o.emitter(1)(ev("b"));
    o.emitter(2)(ev("c"));
    o.flushThrough(1);
    expect(out).toEqual(["a", "b"]);
  });
});
