import { isKind } from "@berth/errdefs";
import { describe, expect, it } from "vitest";
import { type ParseEvent, type ResponseHead, ResponseParser } from "../src/ResponseParser.ts";

interface Parsed {
  head: ResponseHead | undefined;
  body: string;
  ended: boolean;
  upgrade: { head: ResponseHead; rest: string } | undefined;
}

function collect(events: ParseEvent[], into: Parsed): void {
  for (const ev of events) {
    if (ev.type === "head") {
      expect(into.head).toBeUndefined();
      into.head = ev.head;
    } else if (ev.type === "body") {
      expect(into.ended).toBe(false);
      into.body += ev.data.toString("latin1");
    } else if (ev.type === "end") {
      expect(into.ended).toBe(false);
      into.ended = true;
    } else {
      into.upgrade = { head: ev.head, rest: ev.rest.toString("latin1") };
    }
  }
}

/** parse feeds `wire` cut at the given offsets, then (if `eof`) the end of the connection. */
function parse(wire: string, cuts: number[], opts: { method?: string; eof?: boolean } = {}): Parsed {
  const p = new ResponseParser({ method: opts.method ?? "GET" });
  const out: Parsed = { head: undefined, body: "", ended: false, upgrade: undefined };
  const bytes = Buffer.from(wire, "latin1");
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut > from) collect(p.push(bytes.subarray(from, cut)), out);
    from = Math.max(from, cut);
    if (out.upgrade) return out;
  }
  if (opts.eof) collect(p.finish(), out);
  return out;
}

/** everySplit yields [] and every single cut and every pair of adjacent cuts of a wire string. */
function* everySplit(wire: string): Generator<number[]> {
  yield [];
  for (let i = 1; i < wire.length; i++) yield [i];
  for (let i = 1; i < wire.length; i++) yield Array.from({ length: wire.length }, (_, k) => k).slice(i);
}

function bytewise(wire: string): number[] {
  return Array.from({ length: wire.length }, (_, k) => k);
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a throw");
}

const CHUNKED =
  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
  '5\r\n{"a":\r\n' +
  '3;ext=1;q="x"\r\n1}\n\r\n' +
  "a\r\n0123456789\r\n" +
  "0\r\nX-Trailer: yes\r\nX-Other: 2\r\n\r\n";

describe("ResponseParser", () => {
  it("decodes a chunked body split at every byte, with extensions and trailers", () => {
    for (const cuts of everySplit(CHUNKED)) {
      const r = parse(CHUNKED, cuts);
      expect(r.head?.statusCode).toBe(200);
      expect(r.head?.headers["content-type"]).toBe("application/json");
      expect(r.body).toBe('{"a":1}\n0123456789');
      expect(r.ended).toBe(true);
    }
  });

  it("parses status line and headers split anywhere; names are lower-cased, duplicates combined", () => {
    const wire =
      "HTTP/1.1 404 Not Found\r\nApi-Version: 1.41\r\nX-Multi: a\r\nx-multi: b\r\nSet-Cookie: c=1\r\n" +
      "Set-Cookie: d=2\r\nContent-Type: text/plain\r\nContent-Type: ignored\r\nFolded: one\r\n two\r\n" +
      "Content-Length: 5\r\n\r\nhello";
    for (const cuts of everySplit(wire)) {
      const r = parse(wire, cuts);
      expect(r.head?.statusCode).toBe(404);
      expect(r.head?.statusMessage).toBe("Not Found");
      expect(r.head?.httpVersion).toBe("1.1");
      expect(r.head?.headers).toEqual({
        "api-version": "1.41",
        "x-multi": "a, b",
        "set-cookie": ["c=1", "d=2"],
        "content-type": "text/plain",
        folded: "one two",
        "content-length": "5",
      });
      expect(r.head?.rawHeaders.slice(0, 2)).toEqual(["Api-Version", "1.41"]);
      expect(r.body).toBe("hello");
      expect(r.ended).toBe(true);
    }
  });

  it("accepts bare LF line endings and an empty reason phrase", () => {
    const r = parse("HTTP/1.0 200\nContent-Length: 2\n\nok", bytewise("xxxxxxxxxxx"));
    expect(r.head?.statusCode).toBe(200);
    expect(r.head?.statusMessage).toBe("");
    expect(r.head?.httpVersion).toBe("1.0");
    expect(r.body).toBe("ok");
    expect(r.ended).toBe(true);
  });

  it("reads a body without length or chunking until the connection closes", () => {
    const wire = "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\nabc";
    const r = parse(wire, bytewise(wire));
    expect(r.body).toBe("abc");
    expect(r.ended).toBe(false);
    const closed = parse(wire, [], { eof: true });
    expect(closed.body).toBe("abc");
    expect(closed.ended).toBe(true);
  });

  it("a HEAD answer, 204 and 304 have no body even with a Content-Length", () => {
    const head = parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", [], { method: "HEAD" });
    expect(head.ended).toBe(true);
    expect(head.body).toBe("");
    for (const status of ["204 No Content", "304 Not Modified"]) {
      const r = parse(`HTTP/1.1 ${status}\r\nContent-Length: 9\r\n\r\n`, []);
      expect(r.head?.statusCode).toBe(Number.parseInt(status, 10));
      expect(r.ended).toBe(true);
    }
    const zero = parse("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", []);
    expect(zero.ended).toBe(true);
  });

  it("skips interim 1xx answers", () => {
    const wire = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx";
    for (const cuts of everySplit(wire)) {
      const r = parse(wire, cuts);
      expect(r.head?.statusCode).toBe(200);
      expect(r.body).toBe("x");
    }
  });

  it("stops at 101 and returns the bytes after the head, however the input was split", () => {
    const wire =
      "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n" +
      "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n";
    const r = parse(`${wire}\x01\x00\x00\x00`, []);
    expect(r.upgrade?.head.statusCode).toBe(101);
    expect(r.upgrade?.head.statusMessage).toBe("UPGRADED");
    expect(r.upgrade?.rest).toBe("\x01\x00\x00\x00");
    expect(r.head).toBeUndefined();
    for (let i = 1; i <= wire.length; i++) {
      const split = parse(`${wire}xy`, [i]);
      expect(split.upgrade?.rest).toBe(i === wire.length ? "" : "xy");
    }
  });

  it("takeOver can claim a 200 (docker's hijack without Upgrade)", () => {
    const p = new ResponseParser({ method: "POST", takeOver: (h) => h.statusCode === 200 });
    const ev = p.push(
      Buffer.from("HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\nout"),
    );
    expect(ev).toHaveLength(1);
    expect(ev[0]?.type).toBe("upgrade");
    expect(ev[0]?.type === "upgrade" && ev[0].rest.toString()).toBe("out");
  });

  it("rejects a bad status line with Internal and says what it found", () => {
    for (const line of ["HTTP/2 200 OK", "SSH-2.0-OpenSSH_9.2", "HTTP/1.1 20 OK", "HTTP/1.1 abc OK"]) {
      const err = thrown(() => parse(`${line}\r\n\r\n`, []));
      expect(isKind(err, "Internal")).toBe(true);
      expect(err.message).toContain("invalid status line");
      expect(err.message).toContain(JSON.stringify(line));
      expect((err as { code?: string }).code).toBe("ERR_HTTP_PARSE");
    }
  });

  it("rejects malformed header lines", () => {
    const err = thrown(() => parse("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", []));
    expect(err.message).toContain("invalid header line");
  });

  it("rejects oversized headers, whole or arriving in pieces", () => {
    const big = `HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(70 * 1024)}\r\n\r\n`;
    expect(thrown(() => parse(big, [])).message).toContain("response headers exceed 65536 bytes");
    const cuts = Array.from({ length: 80 }, (_, i) => i * 1024);
    expect(thrown(() => parse(big, cuts)).message).toContain("response headers exceed 65536 bytes");
    const small = new ResponseParser({ method: "GET", maxHeaderBytes: 32 });
    expect(() => small.push(Buffer.from("HTTP/1.1 200 OK\r\nServer: a-long-name\r\n"))).toThrow(
      /response headers exceed 32 bytes/,
    );
  });

  it("rejects oversized trailers", () => {
    const p = new ResponseParser({ method: "GET", maxHeaderBytes: 64 });
    p.push(Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"));
    expect(() => p.push(Buffer.from(`X: ${"t".repeat(100)}`))).toThrow(/response trailers exceed 64 bytes/);
  });

  it("a body shorter than its Content-Length is an error at the end of the connection", () => {
    const wire = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort";
    const err = thrown(() => parse(wire, [], { eof: true }));
    expect(isKind(err, "Internal")).toBe(true);
    expect(err.message).toContain("response body ended early: 5 of its Content-Length bytes are missing");
  });

  it("a chunked body cut before its last chunk, or a connection closed inside the head, is an error", () => {
    expect(
      thrown(() =>
        parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", [], { eof: true }),
      ).message,
    ).toContain("chunked response body ended before its last chunk");
    expect(thrown(() => parse("HTTP/1.1 200 OK\r\nContent-", [], { eof: true })).message).toContain(
      "closed the connection inside the response headers",
    );
    expect(thrown(() => parse("", [], { eof: true })).message).toContain("without a response");
  });

  it("rejects bad chunk sizes, missing CRLF after chunk data, and conflicting Content-Length", () => {
    const base = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    expect(thrown(() => parse(`${base}zz\r\n`, [])).message).toContain("invalid chunk size line");
    expect(thrown(() => parse(`${base}${"f".repeat(20)}\r\n`, [])).message).toContain(
      "invalid chunk size line",
    );
    expect(thrown(() => parse(`${base}2\r\nabX`, [])).message).toContain("missing CRLF after chunk data");
    expect(
      thrown(() => parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", [])).message,
    ).toContain("invalid Content-Length");
    expect(thrown(() => parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", [])).message).toContain(
      "invalid Content-Length",
    );
  });

  it("Transfer-Encoding wins over Content-Length; a final coding other than chunked reads until close", () => {
    const r = parse(
      "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n",
      [],
    );
    expect(r.body).toBe("z");
    expect(r.ended).toBe(true);
    const g = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw", [], { eof: true });
    expect(g.body).toBe("raw");
    expect(g.ended).toBe(true);
  });
});

describe("ResponseParser after the response", () => {
  it("drops bytes that follow a complete response (a sloppy body on HEAD) and counts them", () => {
    const p = new ResponseParser({ method: "HEAD" });
    const ev = p.push(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"));
    expect(ev.map((e) => e.type)).toEqual(["head", "end"]);
    expect(p.done).toBe(true);
    expect(p.discarded).toBe(2);
  });
});
