import { describe, expect, it } from "vitest";
import { printProgress } from "../src/printProgress.ts";

async function* lines(...msgs: object[]): AsyncGenerator<string> {
  yield msgs.map((m) => `${JSON.stringify(m)}\r\n`).join("");
}

const pull = () =>
  lines(
    { status: "Pulling from bb", id: "latest" },
    { status: "Pulling fs layer", progressDetail: {}, id: "aaa" },
    { status: "Pulling fs layer", progressDetail: {}, id: "bbb" },
    { status: "Downloading", progressDetail: { current: 1, total: 2 }, progress: "[=>  ] 1B/2B", id: "aaa" },
    { status: "Download complete", progressDetail: {}, id: "aaa" },
    { status: "Digest: sha256:x" },
  );

function sink(isTTY: boolean) {
  let text = "";
  return {
    isTTY,
    write(s: string) {
      text += s;
      return true;
    },
    get text() {
      return text;
    },
  };
}

describe("printProgress", () => {
  it("prints plain status lines when not a terminal, skipping progress bars", async () => {
    const out = sink(false);
    await printProgress(pull(), out, false);
    expect(out.text).toBe(
      "latest: Pulling from bb\naaa: Pulling fs layer\nbbb: Pulling fs layer\naaa: Download complete\nDigest: sha256:x\n",
    );
  });

  it("rewrites each layer's line in place in a terminal", async () => {
    const out = sink(true);
    await printProgress(pull(), out, false);
    expect(out.text).toBe(
      "latest: Pulling from bb\n" +
        "aaa: Pulling fs layer\n" +
        "bbb: Pulling fs layer\n" +
        "\x1b[2A\r\x1b[2Kaaa: Downloading [=>  ] 1B/2B\r\x1b[2B" +
        "\x1b[2A\r\x1b[2Kaaa: Download complete\r\x1b[2B" +
        "Digest: sha256:x\n",
    );
  });

  it("ends with the stream's error", async () => {
    const out = sink(false);
    await expect(
      printProgress(lines({ status: "x" }, { errorDetail: { message: "boom" }, error: "boom" }), out, false),
    ).rejects.toThrow("boom");
  });
});
