import { InvalidArgument } from "@berth/errdefs";

/** DNS record types Berth answers or tests use. */
export const DnsType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  OPT: 41,
  ANY: 255,
} as const;
/** DNS class IN. */
export const CLASS_IN = 1;
/** Response codes (RFC 1035 4.1.1). */
export const Rcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** Header flag bits. */
export const Flags = { QR: 0x8000, AA: 0x0400, TC: 0x0200, RD: 0x0100, RA: 0x0080 } as const;

/** HEADER_BYTES: the fixed DNS header. */
export const HEADER_BYTES = 12;
/** MAX_NAME_BYTES: RFC 1035 limit on an encoded name. */
export const MAX_NAME_BYTES = 255;
/** MAX_POINTER_HOPS: compression pointers followed per name before the packet counts as malformed (loops). */
export const MAX_POINTER_HOPS = 64;

/** DnsHeader is the 12-byte header, flags kept as one 16-bit word. */
export interface DnsHeader {
  id: number;
  flags: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

/** DnsQuestion is one entry of the question section; `name` is as sent (case kept, no trailing dot). */
export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

/** DnsRecord is one resource record; `data` is the raw RDATA. */
export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  data: Buffer;
}

/** DnsMessage is a decoded packet; `questionEnd` is the offset just past the question section. */
export interface DnsMessage {
  header: DnsHeader;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
  questionEnd: number;
}

function malformed(what: string): InvalidArgument {
  return new InvalidArgument(`malformed dns packet: ${what}`);
}

/** readName decodes a (possibly compressed) domain name at `offset`; `next` is the offset after it in the original position. */
export function readName(buf: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = offset;
  let next = -1;
  let hops = 0;
  let length = 0;
  for (;;) {
    if (pos >= buf.length) throw malformed(`name runs past the end at offset ${pos}`);
    const len = buf[pos] as number;
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw malformed("truncated compression pointer");
      const target = ((len & 0x3f) << 8) | (buf[pos + 1] as number);
      if (next < 0) next = pos + 2;
      // Pointers must point backwards; together with the hop limit this rules out loops.
      if (target >= pos || ++hops > MAX_POINTER_HOPS)
        throw malformed(`bad compression pointer to ${target} at ${pos}`);
      pos = target;
      continue;
    }
    if ((len & 0xc0) !== 0) throw malformed(`unsupported label type 0x${len.toString(16)} at ${pos}`);
    if (len === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    if (pos + 1 + len > buf.length) throw malformed(`label runs past the end at offset ${pos}`);
    length += len + 1;
    if (length > MAX_NAME_BYTES) throw malformed("name longer than 255 bytes");
    labels.push(buf.toString("latin1", pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return { name: labels.join("."), next };
}

/** encodeName writes a name as uncompressed labels ("" or "." is the root). InvalidArgument on empty or over-long labels. */
export function encodeName(name: string): Buffer {
  const trimmed = name.endsWith(".") ? name.slice(0, -1) : name;
  const labels = trimmed === "" ? [] : trimmed.split(".");
  const parts: Buffer[] = [];
  for (const l of labels) {
    const b = Buffer.from(l, "latin1");
    if (b.length === 0 || b.length > 63)
      throw new InvalidArgument(`invalid dns name ${JSON.stringify(name)}: labels must be 1..63 bytes`);
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  const out = Buffer.concat(parts);
  if (out.length > MAX_NAME_BYTES)
    throw new InvalidArgument(`invalid dns name ${JSON.stringify(name)}: longer than 255 bytes`);
  return out;
}

function readRecords(buf: Buffer, offset: number, count: number): { records: DnsRecord[]; next: number } {
  const records: DnsRecord[] = [];
  let pos = offset;
  for (let i = 0; i < count; i++) {
    const { name, next } = readName(buf, pos);
    if (next + 10 > buf.length) throw malformed("record header runs past the end");
    const rdlength = buf.readUInt16BE(next + 8);
    if (next + 10 + rdlength > buf.length) throw malformed("record data runs past the end");
    records.push({
      name,
      type: buf.readUInt16BE(next),
      class: buf.readUInt16BE(next + 2),
      ttl: buf.readUInt32BE(next + 4),
      data: buf.subarray(next + 10, next + 10 + rdlength),
    });
    pos = next + 10 + rdlength;
  }
  return { records, next: pos };
}

/** parseMessage decodes a whole packet; InvalidArgument ("malformed dns packet: ...") on anything inconsistent. */
export function parseMessage(buf: Buffer): DnsMessage {
  if (buf.length < HEADER_BYTES) throw malformed(`${buf.length} bytes is shorter than the header`);
  const header: DnsHeader = {
    id: buf.readUInt16BE(0),
    flags: buf.readUInt16BE(2),
    qdcount: buf.readUInt16BE(4),
    ancount: buf.readUInt16BE(6),
    nscount: buf.readUInt16BE(8),
    arcount: buf.readUInt16BE(10),
  };
  const questions: DnsQuestion[] = [];
  let pos = HEADER_BYTES;
  for (let i = 0; i < header.qdcount; i++) {
    const { name, next } = readName(buf, pos);
    if (next + 4 > buf.length) throw malformed("question runs past the end");
    questions.push({ name, type: buf.readUInt16BE(next), class: buf.readUInt16BE(next + 2) });
    pos = next + 4;
  }
  const questionEnd = pos;
  const an = readRecords(buf, pos, header.ancount);
  const ns = readRecords(buf, an.next, header.nscount);
  const ar = readRecords(buf, ns.next, header.arcount);
  return {
    header,
    questions,
    answers: an.records,
    authorities: ns.records,
    additionals: ar.records,
    questionEnd,
  };
}

/** encodeQuery builds a standard query (RD set) for one name and type; used by tests and tools. */
export function encodeQuery(id: number, name: string, type: number, opts: { rd?: boolean } = {}): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(opts.rd === false ? 0 : Flags.RD, 2);
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(CLASS_IN, 2);
  return Buffer.concat([header, encodeName(name), tail]);
}

/** Options of {@link encodeResponse}. */
export interface ResponseOptions {
  rcode: number;
  /** IPv4 addresses answered as A records for the first question's name */
  addresses?: readonly string[];
  ttl?: number;
  authoritative?: boolean;
  /** largest packet allowed (512 for plain UDP); answers that do not fit are left off and TC is set */
  maxBytes?: number;
}

/**
 * encodeResponse answers `query` (a decoded request and its raw bytes): same ID, opcode and RD,
 * the question section copied byte for byte, then one A record per address, each naming the first
 * question by a compression pointer (0xC00C).
 */
export function encodeResponse(query: Buffer, msg: DnsMessage, o: ResponseOptions): Buffer {
  const question = query.subarray(HEADER_BYTES, msg.questionEnd);
  const ttl = o.ttl ?? 600;
  const answers: Buffer[] = [];
  let size = HEADER_BYTES + question.length;
  let truncated = false;
  for (const a of o.addresses ?? []) {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc000 | HEADER_BYTES, 0);
    rr.writeUInt16BE(DnsType.A, 2);
    rr.writeUInt16BE(CLASS_IN, 4);
    rr.writeUInt32BE(ttl, 6);
    rr.writeUInt16BE(4, 10);
    const octets = a.split(".").map(Number);
    for (let i = 0; i < 4; i++) rr[12 + i] = octets[i] ?? 0;
    if (o.maxBytes !== undefined && size + rr.length > o.maxBytes) {
      truncated = true;
      break;
    }
    answers.push(rr);
    size += rr.length;
  }
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(msg.header.id, 0);
  let flags =
    Flags.QR | (msg.header.flags & 0x7800) | (msg.header.flags & Flags.RD) | Flags.RA | (o.rcode & 0xf);
  if (o.authoritative) flags |= Flags.AA;
  if (truncated) flags |= Flags.TC;
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(msg.header.qdcount, 4);
  header.writeUInt16BE(answers.length, 6);
  return Buffer.concat([header, question, ...answers]);
}

/** rcodeOf returns the response code of a packet's header. */
export function rcodeOf(flags: number): number {
  return flags & 0xf;
}
