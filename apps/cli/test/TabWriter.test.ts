import { describe, expect, it } from "vitest";
import { formatTable } from "../src/TabWriter.ts";

describe("formatTable (Go tabwriter, minwidth 10, padding 3)", () => {
  it("renders docker's empty ps header", () => {
    expect(formatTable("CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES\n")).toBe(
      "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n",
    );
  });
  it("aligns columns to the widest cell plus padding", () => {
    const text =
      "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\nfriendlyhello\tquiet\t8a0deab0db5d\t24 seconds ago\t1.98MB\nbb\tlatest\ta4037595f994\t12 minutes ago\t1.98MB\n";
    expect(formatTable(text)).toBe(
      "REPOSITORY      TAG       IMAGE ID       CREATED          SIZE\n" +
        "friendlyhello   quiet     8a0deab0db5d   24 seconds ago   1.98MB\n" +
        "bb              latest    a4037595f994   12 minutes ago   1.98MB\n",
    );
  });
  it("counts code points (the ellipsis is one column)", () => {
    expect(formatTable('"sh -c \'i=0; while t…"\tx\nab\ty\n')).toBe(
      '"sh -c \'i=0; while t…"   x\nab                       y\n',
    );
  });
  it("pads trailing empty cells and leaves the last cell alone", () => {
    expect(formatTable("a\tb\t\nlonger\tc\t\n")).toBe("a         b         \nlonger    c         \n");
  });
  it("ends column blocks at a line with a single cell", () => {
    expect(formatTable("a\tb\nsingle\nlonglonglong\tc\n")).toBe("a         b\nsingle\nlonglonglong   c\n");
  });
});
