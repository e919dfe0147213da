import { describe, expect, it } from "vitest";
import { BuildDisplay, resolveProgressMode } from "../src/BuildDisplay.ts";

function sink(isTTY = false) {
  const chunks: string[] = [];
  const out = {
    isTTY,
    columns: 60,
    write: (s: string) => chunks.push(s) > 0,
  } as unknown as NodeJS.WriteStream;
  return { out, text: () => chunks.join("") };
}

/** screen replays the ANSI stream (cursor up, clear line) into the visible lines. */
function screen(raw: string): string[] {
  const lines: string[] = [];
  let row = 0;
  const re = /\x1b\[(\d+)A|\x1b\[2K|([^\x1b\n]*)\n/g;
  for (const m of raw.matchAll(re)) {
    if (m[1] !== undefined) row -= Number(m[1]);
    else if (m[2] !== undefined) {
      lines[row] = m[2];
      row++;
    }
  }
  return lines.slice(0, row).filter((l) => l !== undefined);
}

describe("BuildDisplay", () => {
  it("plain mode writes the classic lines unchanged", () => {
    const s = sink();
    const d = new BuildDisplay("plain", s.out);
    d.text("Step 1/2 : FROM busybox\n ---> 0123456789ab\n");
    d.end(true);
    expect(s.text()).toBe("Step 1/2 : FROM busybox\n ---> 0123456789ab\n");
  });

  it("tty mode collapses finished steps, marks cached ones and shows the running step's last lines", () => {
    const s = sink(true);
    const d = new BuildDisplay("tty", s.out);
    d.text(
      "Step 1/3 : FROM busybox\n ---> 0123456789ab\nStep 2/3 : COPY a /a\n ---> Using cache\n ---> 1123456789ab\n",
    );
    d.text("Step 3/3 : RUN make\n ---> Running in 2123456789ab\n");
    for (let i = 1; i <= 9; i++) d.text(`line ${i}\n`);
    d.end(false);
    const view = screen(s.text());
    expect(view[0]).toMatch(/^\[\+\] Building \d+\.\ds \(3\/3\) FINISHED$/);
    expect(view[1]).toMatch(/^ => \[1\/3\] FROM busybox +\d+\.\ds$/);
    expect(view[2]).toMatch(/^ => CACHED \[2\/3\] COPY a \/a +\d+\.\ds$/);
    expect(view[3]).toMatch(/^ => ERROR \[3\/3\] RUN make +\d+\.\ds$/);
    expect(view.slice(4, 10)).toEqual([4, 5, 6, 7, 8, 9].map((i) => ` => => # line ${i}`));
    // the failed step's whole output stays below the frame
    expect(view.slice(10)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => `line ${i}`));
  });

  it("a successful tty build ends with the result lines and no step output", () => {
    const s = sink(true);
    const d = new BuildDisplay("tty", s.out);
    d.text("Step 1/2 : FROM busybox\n ---> 0123456789ab\nStep 2/2 : RUN echo hi\nhi\n ---> 3123456789ab\n");
    d.text("Successfully built 3123456789ab\nSuccessfully tagged x:latest\n");
    d.end(true);
    const view = screen(s.text());
    expect(view.some((l) => l.includes("# hi"))).toBe(false);
    expect(view.slice(-2)).toEqual(["Successfully built 3123456789ab", "Successfully tagged x:latest"]);
  });

  it("auto is tty only on a terminal", () => {
    expect(resolveProgressMode("auto", sink(false).out)).toBe("plain");
    expect(resolveProgressMode("plain", sink(true).out)).toBe("plain");
    expect(resolveProgressMode("tty", sink(false).out)).toBe("tty");
  });
});
