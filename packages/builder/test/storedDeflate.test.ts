import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { constants, deflateRaw, inflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { GZIP_BLOCK_BYTES } from "../src/parallelGzip.ts";
import { storedDeflate } from "../src/storedDeflate.ts";

const zlibStored = promisify(deflateRaw) as (b: Buffer, o: object) => Promise<Buffer>;

describe("storedDeflate", () => {
  const lengths = [0, 1, 100, 16_379, 16_380, 16_384, 32_768, 65_531, 65_535, 65_536, 100_000, 777_777];
  lengths.push(GZIP_BLOCK_BYTES - 1, GZIP_BLOCK_BYTES);
  for (const n of lengths) {
    it(`is byte for byte zlib's level-0 sync-flushed output for ${n} random bytes`, async () => {
      const block = randomBytes(n);
      const want = await zlibStored(block, {
        level: constants.Z_NO_COMPRESSION,
        finishFlush: constants.Z_SYNC_FLUSH,
      });
      const got = Buffer.concat(storedDeflate(block));
      expect(got.equals(want)).toBe(true);
      expect(inflateRawSync(got, { finishFlush: constants.Z_SYNC_FLUSH }).equals(block)).toBe(true);
    });
  }

  it("does not copy the data", () => {
    const block = randomBytes(GZIP_BLOCK_BYTES);
    const pieces = storedDeflate(block);
    expect(pieces.some((p) => p.buffer === block.buffer && p.length > 1000)).toBe(true);
  });
});
