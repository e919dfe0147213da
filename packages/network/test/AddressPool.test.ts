import { describe, expect, it } from "vitest";
import { AddressPool } from "../src/AddressPool.ts";

const noRoutes = async () => [] as string[];

describe("AddressPool", () => {
  it("hands out the first free subnet in order", async () => {
    const pool = new AddressPool([{ base: "10.88.0.0/14", size: 24 }], { routes: noRoutes });
    expect(await pool.allocate([])).toBe("10.88.0.0/24");
    expect(await pool.allocate(["10.88.0.0/24", "10.88.1.0/24"])).toBe("10.88.2.0/24");
    expect(await pool.allocate(["10.88.0.0/24", "10.88.2.0/24"])).toBe("10.88.1.0/24");
  });
  it("skips subnets overlapping host routes, also large ones", async () => {
    const pool = new AddressPool([{ base: "10.88.0.0/14", size: 24 }], {
      routes: async () => ["10.88.0.0/16", "10.89.0.5/32"],
    });
    expect(await pool.allocate([])).toBe("10.89.1.0/24");
  });
  it("skips a larger in-use network and moves to the next pool when one is full", async () => {
    const pool = new AddressPool(
      [
        { base: "172.17.0.0/16", size: 16 },
        { base: "172.18.0.0/15", size: 16 },
      ],
      { routes: noRoutes },
    );
    expect(await pool.allocate(["172.17.0.0/16"])).toBe("172.18.0.0/16");
    expect(await pool.allocate(["172.16.0.0/12"]).catch((e: unknown) => e)).toMatchObject({
      _tag: "ResourceExhausted",
    });
  });
  it("rejects a size shorter than the base", () => {
    expect(() => new AddressPool([{ base: "10.0.0.0/16", size: 8 }])).toThrow(
      expect.objectContaining({ _tag: "InvalidArgument" }),
    );
  });
  it("reads the host's routes by default", async () => {
    const pool = new AddressPool([{ base: "0.0.0.0/0", size: 0 }]);
    // The host has at least a loopback route, so the whole address space overlaps.
    await expect(pool.allocate([])).rejects.toMatchObject({ _tag: "ResourceExhausted" });
  });
});
