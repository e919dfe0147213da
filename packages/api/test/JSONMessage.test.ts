import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  decodeJSONLines,
  encodeJSONMessage,
  errorMessage,
  JSONLinesDecoder,
  type JSONMessage,
  JSONMessageError,
  jsonMessageError,
  throwIfError,
} from "../src/index.ts";

const messages: JSONMessage[] = [
  { status: "Pulling from library/busybox", id: "latest" },
  { status: "Downloading", progressDetail: { current: 1024, total: 2048 }, progress: "[=>  ]", id: "abc123" },
  { stream: "Step 1/2 : FROM busybox\n" },
  { aux: { ID: "sha256:0123" } },
  { status: "é ünïcödé ✓ 🚢" },
  errorMessage("manifest unknown", 404),
];

describe("JSON lines", () => {
  it("encodes one message per line", () => {
    expect(encodeJSONMessage({ status: "sha256:ab" }).toString()).toBe('{"status":"sha256:ab"}\n');
  });

  it("decodes messages split at every byte, including inside multi-byte characters", () => {
    const wire = Buffer.concat(messages.map(encodeJSONMessage));
    for (let i = 0; i <= wire.length; i += 1) {
      const d = new JSONLinesDecoder();
      const got = [...d.push(wire.subarray(0, i)), ...d.push(wire.subarray(i)), ...d.end()];
      expect(got).toEqual(messages);
    }
  });

  it("accepts \\r\\n line ends (dockerd writes them for import) and a last line without newline", () => {
    const d = new JSONLinesDecoder();
    expect(d.push(Buffer.from('{"status":"a"}\r\n\r\n{"status":'))).toEqual([{ status: "a" }]);
    expect(d.push(Buffer.from('"b"}'))).toEqual([]);
    expect(d.end()).toEqual([{ status: "b" }]);
  });

  it("rejects a line that is not JSON, quoting it", () => {
    const d = new JSONLinesDecoder();
    expect(() => d.push(Buffer.from("not json\n"))).toThrow(
      /invalid json line: expected a json value, found "not json"/,
    );
  });

  it("bounds the buffered line length", () => {
    const d = new JSONLinesDecoder(16);
    expect(() => d.push(Buffer.from('{"status":"0123456789"'))).toThrow(/more than 16 bytes/);
  });

  it("decodes an async stream", async () => {
    const wire = Buffer.concat(messages.map(encodeJSONMessage));
    const got: JSONMessage[] = [];
    for await (const m of decodeJSONLines(Readable.from([wire.subarray(0, 7), wire.subarray(7)])))
      got.push(m);
    expect(got).toEqual(messages);
  });
});

describe("jsonMessageError", () => {
  it("reads errorDetail first, then error", () => {
    expect(jsonMessageError({ errorDetail: { message: "a" }, error: "b" })).toBe("a");
    expect(jsonMessageError({ error: "b" })).toBe("b");
    expect(jsonMessageError({ status: "ok" })).toBeUndefined();
  });

  it("throwIfError throws a JSONMessageError with the daemon's code", () => {
    expect(throwIfError({ status: "fine" })).toEqual({ status: "fine" });
    try {
      throwIfError(errorMessage("pull access denied", 401));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(JSONMessageError);
      expect((err as JSONMessageError).message).toBe("pull access denied");
      expect((err as JSONMessageError).detail.code).toBe(401);
    }
  });
});
