import { describe, expect, it } from "vitest";
import { type RestartClock, RestartManager, type RestartPolicy } from "../src/RestartManager.ts";

/** FakeClock runs timers only when the test advances time. */
class FakeClock implements RestartClock {
  now = 0;
  #timers = new Map<number, { at: number; fn: () => void }>();
  #next = 1;
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.set(id, { at: this.now + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }
  get timers(): number {
    return this.#timers.size;
  }
  advance(ms: number): void {
    this.now += ms;
    for (const [id, t] of [...this.#timers]) {
      if (t.at <= this.now) {
        this.#timers.delete(id);
        t.fn();
      }
    }
  }
}

const mgr = (policy: RestartPolicy, clock = new FakeClock(), restartCount = 0) =>
  new RestartManager({ policy, clock, restartCount });

function delays(m: RestartManager, n: number, runMs = 0): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const d = m.decide(0, false, runMs);
    if (!d.restart) throw new Error("expected a restart");
    out.push(d.delayMs);
  }
  return out;
}

describe("RestartManager", () => {
  it("backs off from 100 ms, doubling, capped at one minute", () => {
    const m = mgr({ Name: "always" });
    expect(delays(m, 12)).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000]);
    expect(m.restartCount).toBe(12);
  });

  it("resets the back-off once a run lasted 10 s, not before", () => {
    const m = mgr({ Name: "always" });
    expect(delays(m, 4)).toEqual([100, 200, 400, 800]);
    expect(delays(m, 1, 9_999)).toEqual([1600]);
    expect(delays(m, 1, 10_000)).toEqual([100]);
    expect(delays(m, 2)).toEqual([200, 400]);
  });

  it("on-failure:3 restarts on non-zero exits only, exactly 3 times", () => {
    const m = mgr({ Name: "on-failure", MaximumRetryCount: 3 });
    expect(m.decide(0, false, 0)).toEqual({ restart: false });
    expect(m.decide(1, false, 0).restart).toBe(true);
    expect(m.decide(2, false, 0).restart).toBe(true);
    expect(m.decide(137, false, 0).restart).toBe(true);
    expect(m.decide(1, false, 0)).toEqual({ restart: false });
    expect(m.restartCount).toBe(3);
  });

  it("on-failure counts from the stored restart count; 0 means unlimited", () => {
    expect(mgr({ Name: "on-failure", MaximumRetryCount: 3 }, new FakeClock(), 3).decide(1, false, 0)).toEqual(
      {
        restart: false,
      },
    );
    const unlimited = mgr({ Name: "on-failure" });
    for (let i = 0; i < 50; i++) expect(unlimited.decide(1, false, 0).restart).toBe(true);
  });

  it("no and an empty policy never restart; always ignores a manual stop; unless-stopped does not", () => {
    expect(mgr({ Name: "no" }).decide(1, false, 0)).toEqual({ restart: false });
    expect(mgr({}).decide(1, false, 0)).toEqual({ restart: false });
    expect(mgr({ Name: "always" }).decide(0, true, 0).restart).toBe(true);
    expect(mgr({ Name: "unless-stopped" }).decide(0, true, 0)).toEqual({ restart: false });
    expect(mgr({ Name: "unless-stopped" }).decide(0, false, 0).restart).toBe(true);
  });

  it("wait resolves after the delay on the clock", async () => {
    const clock = new FakeClock();
    const m = mgr({ Name: "always" }, clock);
    const d = m.decide(0, false, 0);
    if (!d.restart) throw new Error("expected a restart");
    let done: boolean | undefined;
    void m.wait(d.delayMs).then((ok) => {
      done = ok;
    });
    clock.advance(99);
    await Promise.resolve();
    expect(done).toBeUndefined();
    expect(m.pending).toBe(true);
    clock.advance(1);
    await Promise.resolve();
    expect(done).toBe(true);
    expect(m.pending).toBe(false);
  });

  it("a manual stop cancels a pending restart and every later one", async () => {
    const clock = new FakeClock();
    const m = mgr({ Name: "always" }, clock);
    const d = m.decide(0, false, 0);
    if (!d.restart) throw new Error("expected a restart");
    const waited = m.wait(d.delayMs);
    clock.advance(50);
    m.cancel();
    expect(await waited).toBe(false);
    expect(clock.timers).toBe(0);
    clock.advance(1000);
    expect(m.decide(0, false, 0)).toEqual({ restart: false });
    expect(await m.wait(100)).toBe(false);
  });
});
