import { appendFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatRFC3339Nano, type LogRecord, parseK8sLogLine, readLogs } from "../src/index.ts";

const dir = await mkdtemp(join(tmpdir(), "berth-logs-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

async function collect(it: AsyncIterable<LogRecord>): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for await (const r of it) out.push(r);
  return out;
}
const text = (rs: LogRecord[]) => rs.map((r) => `${r.stream}:${r.data.toString()}`);

describe("parseK8sLogLine", () => {
  it("parses conmon's format and normalises the time to UTC", () => {
    const p = parseK8sLogLine(Buffer.from("2026-11-28T00:51:29.844395330+01:00 stderr F hi there"))!;
    expect(p.stream).toBe("stderr");
    expect(p.partial).toBe(false);
    expect(p.data.toString()).toBe("hi there");
    expect(p.time).toBe("2026-11-27T23:51:29.84439533Z");
    expect(parseK8sLogLine(Buffer.from("garbage"))).toBeUndefined();
    expect(formatRFC3339Nano(1_000_000_000n)).toBe("1970-01-01T00:00:01Z");
  });
});

describe("readLogs", () => {
  const file = join(dir, "c.log");
  it("joins partial lines, keeps streams apart, honours tail/since/until", async () => {
    await writeFile(
      file,
      [
        "2026-01-01T00:00:01.000000000+00:00 stdout F one",
        "2026-01-01T00:00:02.000000000+00:00 stdout P tw",
        "2026-01-01T00:00:02.500000000+00:00 stderr F err",
        "2026-01-01T00:00:03.000000000+00:00 stdout F o",
        "2026-01-01T00:00:04.000000000+00:00 stdout P no-newline",
        "",
      ].join("\n"),
    );
    const all = await collect(readLogs(file));
    expect(text(all)).toEqual(["stdout:one\n", "stderr:err\n", "stdout:two\n", "stdout:no-newline"]);
    expect(all[0]!.time).toBe("2026-01-01T00:00:01Z");
    expect(text(await collect(readLogs(file, { tail: 2 })))).toEqual([
      "stderr:err\n",
      "stdout:two\n",
      "stdout:no-newline",
    ]);
    expect(text(await collect(readLogs(file, { since: new Date("2026-01-01T00:00:02Z") })))).toEqual([
      "stderr:err\n",
      "stdout:two\n",
      "stdout:no-newline",
    ]);
    expect(text(await collect(readLogs(file, { until: new Date("2026-01-01T00:00:02Z") })))).toEqual([
      "stdout:one\n",
    ]);
  });

  it("follows appended lines until stop settles", async () => {
    const f = join(dir, "follow.log");
    await writeFile(f, "2026-01-01T00:00:01Z stdout F a\n");
    let stop!: () => void;
    const stopP = new Promise<void>((r) => {
      stop = r;
    });
    const got: string[] = [];
    const reader = (async () => {
      for await (const r of readLogs(f, { follow: true, stop: stopP, pollMs: 50 }))
        got.push(r.data.toString());
    })();
    await new Promise((r) => setTimeout(r, 100));
    await appendFile(f, "2026-01-01T00:00:02Z stdout P b");
    await new Promise((r) => setTimeout(r, 100));
    await appendFile(f, "c\n2026-01-01T00:00:03Z stdout F ");
    await appendFile(f, "d\n");
    await new Promise((r) => setTimeout(r, 150));
    stop();
    await reader;
    expect(got).toEqual(["a\n", "bcd\n"]);
  });

  it("stops following on abort", async () => {
    const f = join(dir, "abort.log");
    await writeFile(f, "");
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    expect(await collect(readLogs(f, { follow: true, signal: ac.signal, pollMs: 20 }))).toEqual([]);
  });
});
