import { describe, expect, it } from "vitest";
import { StartQueue } from "../src/StartQueue.ts";

describe("StartQueue", () => {
  it("runs at most `permits` at once and serves waiters by priority, then arrival", async () => {
    const q = new StartQueue(2);
    const order: string[] = [];
    let running = 0;
    let peak = 0;
    const gates = new Map<string, () => void>();
    const task = (name: string, priority: number) =>
      q.run(priority, async () => {
        order.push(name);
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((r) => gates.set(name, r));
        running--;
      });
    const all = [task("a", 1), task("b", 1), task("c", 1), task("d", 0), task("e", 0)];
    await new Promise((r) => setTimeout(r, 0));
    expect(order).toEqual(["a", "b"]);
    for (const name of ["a", "b", "d", "e", "c"]) {
      await new Promise((r) => setTimeout(r, 0));
      gates.get(name)?.();
    }
    await Promise.all(all);
    expect(order).toEqual(["a", "b", "d", "e", "c"]);
    expect(peak).toBe(2);
  });

  it("gives the turn on when a task fails", async () => {
    const q = new StartQueue(1);
    await expect(q.run(0, () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    await expect(q.run(0, async () => 7)).resolves.toBe(7);
  });
});
