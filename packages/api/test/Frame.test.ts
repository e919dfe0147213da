import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  demux,
  encodeFrame,
  type Frame,
  FrameDecoder,
  FrameDecoderStream,
  type StreamType,
  streamName,
} from "../src/index.ts";

/** rng is a small deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomFrames(rand: () => number, n: number): Frame[] {
  const frames: Frame[] = [];
  for (let i = 0; i < n; i++) {
    const stream = Math.floor(rand() * 3) as StreamType;
    const len = rand() < 0.1 ? 0 : Math.floor(rand() * (rand() < 0.2 ? 5000 : 40));
    const payload = Buffer.alloc(len);
    for (let j = 0; j < len; j++) payload[j] = Math.floor(rand() * 256);
    frames.push({ stream, payload });
  }
  return frames;
}

function chop(rand: () => number, buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i < buf.length) {
    const n = rand() < 0.3 ? 1 : 1 + Math.floor(rand() * 20);
    out.push(buf.subarray(i, i + n));
    i += n;
  }
  return out;
}

describe("encodeFrame", () => {
  it("writes the 8-byte header: stream, three zeros, big-endian length", () => {
    const f = encodeFrame(1, Buffer.from("hello\n"));
    expect([...f.subarray(0, 8)]).toEqual([1, 0, 0, 0, 0, 0, 0, 6]);
    expect(f.subarray(8).toString()).toBe("hello\n");
    const big = encodeFrame(2, Buffer.alloc(0x01020304 & 0xffff));
    expect(big.readUInt32BE(4)).toBe(0x0304);
    expect(big[0]).toBe(2);
  });

  it("matches the bytes dockerd sent in the run-rm-echo trace", () => {
    expect(encodeFrame(1, Buffer.from("hello\n")).toString("hex")).toBe("01000000000000066865" + "6c6c6f0a");
  });

  it("rejects a stream byte outside 0..3", () => {
    expect(() => encodeFrame(4 as StreamType, Buffer.alloc(1))).toThrow(RangeError);
  });

  it("names streams", () => {
    expect([0, 1, 2, 3].map((s) => streamName(s as StreamType))).toEqual([
      "stdin",
      "stdout",
      "stderr",
      "systemerr",
    ]);
  });
});

describe("FrameDecoder", () => {
  it("decodes frames split at every possible byte of a small stream", () => {
    const frames: Frame[] = [
      { stream: 1, payload: Buffer.from("abc") },
      { stream: 2, payload: Buffer.alloc(0) },
      { stream: 2, payload: Buffer.from("error!") },
    ];
    const wire = Buffer.concat(frames.map((f) => encodeFrame(f.stream, f.payload)));
    for (let i = 0; i <= wire.length; i++) {
      for (let j = i; j <= wire.length; j++) {
        const d = new FrameDecoder();
        const got = [
          ...d.push(wire.subarray(0, i)),
          ...d.push(wire.subarray(i, j)),
          ...d.push(wire.subarray(j)),
        ];
        d.end();
        expect(got.map((f) => [f.stream, f.payload.toString()])).toEqual(
          frames.map((f) => [f.stream, f.payload.toString()]),
        );
      }
    }
  });

  it("property: random frames under random chunking decode to the same frames", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rand = rng(seed);
      const frames = randomFrames(rand, 1 + Math.floor(rand() * 30));
      const wire = Buffer.concat(frames.map((f) => encodeFrame(f.stream, f.payload)));
      const d = new FrameDecoder();
      const got: Frame[] = [];
      for (const c of chop(rand, wire)) got.push(...d.push(c));
      d.end();
      expect(got.length, `seed ${seed}`).toBe(frames.length);
      got.forEach((f, i) => {
        expect(f.stream, `seed ${seed} frame ${i}`).toBe(frames[i]!.stream);
        expect(Buffer.compare(f.payload, frames[i]!.payload), `seed ${seed} frame ${i}`).toBe(0);
      });
      expect(d.pending).toBe(0);
    }
  });

  it("keeps a partial frame pending and reports truncation at end", () => {
    const d = new FrameDecoder();
    const wire = encodeFrame(1, Buffer.from("hello"));
    expect(d.push(wire.subarray(0, 10))).toEqual([]);
    expect(d.pending).toBe(10);
    expect(() => d.end()).toThrow(/ended inside a frame: 10 bytes/);
  });

  it("rejects a header whose stream byte is not 0..3 (a raw tty stream)", () => {
    const d = new FrameDecoder();
    expect(() => d.push(Buffer.from("hello world\n"))).toThrow(
      /invalid multiplexed stream header: stream byte 104/,
    );
  });

  it("decodes a 4 GiB length header without allocating it", () => {
    const d = new FrameDecoder();
    expect(d.push(Buffer.from([1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 2]))).toEqual([]);
    expect(d.pending).toBe(10);
  });
});

describe("demux", () => {
  it("decodes an async iterable of chunks", async () => {
    const wire = Buffer.concat([encodeFrame(1, Buffer.from("out")), encodeFrame(2, Buffer.from("err"))]);
    const chunks = [...wire].map((b) => Buffer.from([b]));
    const got: string[] = [];
    for await (const f of demux(Readable.from(chunks))) got.push(`${f.stream}:${f.payload.toString()}`);
    expect(got).toEqual(["1:out", "2:err"]);
  });

  it("rejects when the source ends inside a frame", async () => {
    const wire = encodeFrame(1, Buffer.from("out")).subarray(0, 9);
    await expect(async () => {
      for await (const _ of demux(Readable.from([wire]))) {
        // drain
      }
    }).rejects.toThrow(/ended inside a frame/);
  });

  it("works as a Transform stream", async () => {
    const wire = Buffer.concat([encodeFrame(2, Buffer.from("a")), encodeFrame(1, Buffer.from("bc"))]);
    const t = Readable.from([wire.subarray(0, 3), wire.subarray(3)]).pipe(new FrameDecoderStream());
    const got: string[] = [];
    for await (const f of t as AsyncIterable<Frame>) got.push(`${f.stream}:${f.payload.toString()}`);
    expect(got).toEqual(["2:a", "1:bc"]);
  });
});
