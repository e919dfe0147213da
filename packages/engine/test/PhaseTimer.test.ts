import { afterEach, describe, expect, it } from "vitest";
import { PhaseTimer } from "../src/PhaseTimer.ts";

describe("PhaseTimer", () => {
  const saved = process.env.BERTH_TRACE_PHASES;
  afterEach(() => {
    if (saved === undefined) delete process.env.BERTH_TRACE_PHASES;
    else process.env.BERTH_TRACE_PHASES = saved;
  });

  it("reports each phase and the total on one line when BERTH_TRACE_PHASES=1", async () => {
    process.env.BERTH_TRACE_PHASES = "1";
    const t = new PhaseTimer();
    await new Promise((r) => setTimeout(r, 20));
    t.mark("mount");
    t.mark("network");
    const lines: string[] = [];
    t.report("start abc", (m) => lines.push(m));
    expect(lines).toHaveLength(1);
    const m = /^start abc: mount (\d+\.\d) network (\d+\.\d) total (\d+\.\d) ms$/.exec(lines[0]!);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(15);
    expect(Number(m![2])).toBeLessThan(Number(m![1]));
    expect(Number(m![3])).toBeGreaterThanOrEqual(Number(m![1]));
  });

  it("says nothing without the variable", () => {
    delete process.env.BERTH_TRACE_PHASES;
    const t = new PhaseTimer();
    t.mark("mount");
    const lines: string[] = [];
    t.report("start abc", (m) => lines.push(m));
    expect(lines).toEqual([]);
  });
});
