import { describe, expect, it } from "vitest";
import { dropWritten } from "../src/index.ts";

describe("dropWritten", () => {
  const bufs = [Buffer.from("abc"), Buffer.from("de"), Buffer.from("fgh")];
  const text = (bs: Buffer[]) => bs.map((b) => b.toString()).join("|");
  it("drops whole buffers and cuts the one a short write ended in", () => {
    expect(text(dropWritten(bufs, 0))).toBe("abc|de|fgh");
    expect(text(dropWritten(bufs, 3))).toBe("de|fgh");
    expect(text(dropWritten(bufs, 4))).toBe("e|fgh");
    expect(text(dropWritten(bufs, 8))).toBe("");
  });
});
