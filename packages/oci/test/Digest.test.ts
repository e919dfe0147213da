import { createHash } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { isKind } from "@berth/errdefs";
import { describe, expect, it } from "vitest";
import {
  algorithmOf,
  Digester,
  digestTransform,
  hexOf,
  isDigest,
  parseDigest,
  sha256,
  verifyingTransform,
} from "../src/Digest.ts";

// sha256("hello") and sha256("")
const HELLO = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
const EMPTY = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

function collect(): { sink: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  return { sink, bytes: () => Buffer.concat(chunks) };
}

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the stream to fail");
}

describe("parseDigest", () => {
  it.each([HELLO, EMPTY, `sha512:${"0a".repeat(64)}`])("accepts %s", (d) => {
    expect(parseDigest(d)).toBe(d);
    expect(isDigest(d)).toBe(true);
  });

  it.each([
    ["", "expected <algorithm>:<hex>"],
    ["sha256", "expected <algorithm>:<hex>"],
    ["sha256:", "expected <algorithm>:<hex>"],
    [":abc", "expected <algorithm>:<hex>"],
    [`sha256:${"A".repeat(64)}`, "lowercase hex"],
    [`sha256:${"a".repeat(63)}`, "needs 64 hex characters, found 63"],
    [`sha256:${"a".repeat(65)}`, "needs 64 hex characters, found 65"],
    [`sha256:${"g".repeat(64)}`, "lowercase hex"],
    [`sha512:${"a".repeat(64)}`, "needs 128 hex characters"],
    [`md5:${"a".repeat(32)}`, 'unsupported algorithm "md5"'],
    [`sha384:${"a".repeat(96)}`, 'unsupported algorithm "sha384"'],
    [`SHA256:${"a".repeat(64)}`, "expected <algorithm>:<hex>"],
    [`sha256:/../${"a".repeat(60)}`, "expected <algorithm>:<hex>"],
    [`sha256:../../etc/passwd`, "expected <algorithm>:<hex>"],
    [`sha256:${"a".repeat(64)}?x=1`, "expected <algorithm>:<hex>"],
    [`sha256:${"a".repeat(64)}#frag`, "expected <algorithm>:<hex>"],
    [`sha256:${"a".repeat(64)}\n`, "expected <algorithm>:<hex>"],
    [` sha256:${"a".repeat(64)}`, "expected <algorithm>:<hex>"],
    [`sha256:${"a".repeat(32)}:${"a".repeat(31)}`, "expected <algorithm>:<hex>"],
    [`sha256+b64:${"a".repeat(64)}`, "unsupported algorithm"],
  ])("rejects %j", (input, fragment) => {
    let caught: unknown;
    try {
      parseDigest(input);
    } catch (err) {
      caught = err;
    }
    expect(isKind(caught, "InvalidArgument")).toBe(true);
    expect((caught as Error).message).toMatch(/^invalid digest format: /);
    expect((caught as Error).message).toContain(fragment);
    expect(isDigest(input)).toBe(false);
  });

  it("rejects non-strings without throwing a TypeError", () => {
    expect(() => parseDigest(42 as unknown as string)).toThrow(/invalid digest format: expected a string/);
    expect(isDigest(undefined)).toBe(false);
  });

  it("bounds untrusted input in messages", () => {
    const long = `sha256:${"x".repeat(100_000)}`;
    expect(() => parseDigest(long)).toThrow();
    try {
      parseDigest(long);
    } catch (err) {
      expect((err as Error).message.length).toBeLessThan(400);
    }
  });
});

describe("hashing", () => {
  it("sha256 hashes bytes and strings", () => {
    expect(sha256("hello")).toBe(HELLO);
    expect(sha256(new TextEncoder().encode("hello"))).toBe(HELLO);
    expect(sha256("")).toBe(EMPTY);
    expect(hexOf(HELLO)).toBe(HELLO.slice(7));
    expect(algorithmOf(HELLO)).toBe("sha256");
  });

  it("Digester is incremental, counts bytes, and can be read mid-way", () => {
    const d = new Digester();
    expect(d.digest()).toBe(EMPTY);
    d.update("he");
    expect(d.size).toBe(2);
    d.update(Buffer.from("llo"));
    expect(d.size).toBe(5);
    expect(d.digest()).toBe(HELLO);
    expect(d.digest()).toBe(HELLO);
    d.update("!");
    expect(d.digest()).toBe(sha256("hello!"));
    expect(new Digester().update("é").size).toBe(2);
  });

  it("Digester computes sha512", () => {
    const d = new Digester("sha512").update("hello");
    expect(d.digest()).toBe(`sha512:${createHash("sha512").update("hello").digest("hex")}`);
    expect(() => new Digester("md5" as "sha256")).toThrow(/unsupported digest algorithm/);
  });
});

describe("digestTransform", () => {
  it("passes bytes through unchanged while hashing", async () => {
    const data = Buffer.alloc(300_000, 7);
    const t = digestTransform();
    const { sink, bytes } = collect();
    await pipeline(Readable.from([data.subarray(0, 1000), data.subarray(1000)]), t, sink);
    expect(bytes().equals(data)).toBe(true);
    expect(t.size()).toBe(data.length);
    expect(t.digest()).toBe(sha256(data));
  });
});

describe("verifyingTransform", () => {
  it("passes matching content", async () => {
    const t = verifyingTransform(HELLO, 5);
    const { sink, bytes } = collect();
    await pipeline(Readable.from([Buffer.from("hel"), Buffer.from("lo")]), t, sink);
    expect(bytes().toString()).toBe("hello");
    expect(t.digest()).toBe(HELLO);
  });

  it("passes matching content with no expected size", async () => {
    const { sink } = collect();
    await pipeline(Readable.from([Buffer.from("hello")]), verifyingTransform(HELLO), sink);
  });

  it("fails at the end on a digest mismatch", async () => {
    const { sink } = collect();
    const err = await failure(
      pipeline(Readable.from([Buffer.from("hellO")]), verifyingTransform(HELLO), sink),
    );
    expect(isKind(err, "FailedPrecondition")).toBe(true);
    expect(err.message).toBe(`unexpected commit digest ${sha256("hellO")}, expected ${HELLO}`);
  });

  it("fails at the end when content is short", async () => {
    const { sink } = collect();
    const err = await failure(
      pipeline(Readable.from([Buffer.from("hell")]), verifyingTransform(HELLO, 5), sink),
    );
    expect(isKind(err, "FailedPrecondition")).toBe(true);
    expect(err.message).toBe("unexpected commit size 4, expected 5");
  });

  it("fails as soon as more than the expected size arrives, before reading the rest", async () => {
    let pulled = 0;
    const endless = new Readable({
      read() {
        pulled++;
        this.push(Buffer.alloc(1024, 1));
      },
    });
    const { sink, bytes } = collect();
    const err = await failure(pipeline(endless, verifyingTransform(HELLO, 3000), sink));
    expect(isKind(err, "FailedPrecondition")).toBe(true);
    expect(err.message).toBe("unexpected commit size 3072, expected 3000");
    expect(bytes().length).toBeLessThanOrEqual(3000);
    expect(pulled).toBeLessThan(100);
  });

  it("rejects a malformed expected digest or size up front", () => {
    expect(() => verifyingTransform("sha256:nothex" as never)).toThrow(/invalid digest format/);
    expect(() => verifyingTransform(HELLO, -1)).toThrow(/invalid expected size/);
  });

  it("verifies sha512 digests", async () => {
    const d = `sha512:${createHash("sha512").update("hello").digest("hex")}` as const;
    const { sink } = collect();
    await pipeline(Readable.from([Buffer.from("hello")]), verifyingTransform(d, 5), sink);
  });
});
