import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip, gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { createParallelGzip, GZIP_BLOCK_BYTES, sampleEntropy } from "../src/parallelGzip.ts";

async function compress(data: Buffer, make: () => NodeJS.ReadWriteStream, chunk = 65_531) {
  const t = performance.now();
  const chunks: Buffer[] = [];
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunk) parts.push(data.subarray(i, i + chunk));
  await pipeline(
    Readable.from(parts),
    make(),
    new Writable({
      write(c: Buffer, _e, cb) {
        chunks.push(c);
        cb();
      },
    }),
  );
  return { out: Buffer.concat(chunks), ms: performance.now() - t };
}

describe("parallel gzip", () => {
  const text = Buffer.from(Array.from({ length: 150_000 }, (_, i) => `line ${i} of some text\n`).join(""));
  const random = randomBytes(20 * GZIP_BLOCK_BYTES + 12_345);
  const mixed = Buffer.concat([text, random.subarray(0, 3 * GZIP_BLOCK_BYTES), text]);

  it("estimates entropy: random near 8 bits per byte, text far below", () => {
    expect(sampleEntropy(random)).toBeGreaterThan(7.9);
    expect(sampleEntropy(text)).toBeLessThan(5);
    expect(sampleEntropy(Buffer.alloc(0))).toBe(0);
  });

  it("makes one gzip member that gunzip (node and the gzip binary) reads back", async () => {
    const a = await compress(mixed, () => createParallelGzip());
    expect(gunzipSync(a.out).equals(mixed)).toBe(true);
    expect(execFileSync("gzip", ["-t"], { input: a.out }).length).toBe(0);
    expect(execFileSync("gzip", ["-dc"], { input: a.out, maxBuffer: 1 << 30 }).equals(mixed)).toBe(true);
  });

  it("depends only on the input bytes, not on how they are chunked", async () => {
    const a = await compress(mixed, () => createParallelGzip(), 65_531);
    const b = await compress(mixed, () => createParallelGzip({ concurrency: 1 }), 1_000_003);
    expect(a.out.equals(b.out)).toBe(true);
  });

  it("compresses text about as well as gzip and does not grow random data (speed: bench, not here)", async () => {
    const t = await compress(text, () => createParallelGzip());
    const tg = await compress(text, () => createGzip());
    expect(t.out.length).toBeLessThan(tg.out.length * 1.1);
    const r = await compress(random, () => createParallelGzip());
    expect(gunzipSync(r.out).equals(random)).toBe(true);
    expect(r.out.length).toBeLessThan(random.length * 1.001);
  });

  it("an empty input is a valid empty gzip", async () => {
    const e = await compress(Buffer.alloc(0), () => createParallelGzip());
    expect(gunzipSync(e.out).length).toBe(0);
    expect(execFileSync("gzip", ["-dc"], { input: e.out }).length).toBe(0);
  });
});
