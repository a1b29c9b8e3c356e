/**
 * @module dns/wire
 * Reading whole DNS messages off the hot path (forwarded answers): walk every record with bounds checks,
 * noting where TTLs sit, where the OPT record is, and the SOA of a negative answer. Compression pointers are
 * skipped, never followed, except to read a SOA's MINIMUM (fixed offset after its two names).
 */

export interface RecordRef {
  /** 0 answer, 1 authority, 2 additional. */
  readonly section: number
  readonly start: number
  readonly end: number
  readonly type: number
  readonly ttlOffset: number
  readonly ttl: number
  readonly rdataOffset: number
  readonly rdataLength: number
}

export interface MessageView {
  readonly id: number
  readonly flags: number
  readonly rcode: number
  readonly qdcount: number
  /** Offset just past the question section. */
  readonly questionEnd: number
  readonly records: readonly RecordRef[]
}

/** Our EDNS UDP payload size (the DNS Flag Day 2020 value): what we advertise and the most we send. */
export const EDNS_PAYLOAD = 1232

/**
 * Our OPT record (RFC 6891 6.1.2): owner root, TYPE 41, CLASS = payload size, TTL = ext-rcode | version 0 | DO,
 * and `options` (code, length, data each) as its RDATA.
 */
export function opt(doBit: boolean, extRcode: number, payload = EDNS_PAYLOAD, options: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.from([0, 0, 41, payload >> 8, payload & 0xff, extRcode, 0, doBit ? 0x80 : 0, 0, options.length >> 8, options.length & 0xff])
  return Buffer.concat([head, options])
}

/** Offset after the name at `off`, or -1 when it runs past the end or is malformed. */
export function skipName(buf: Buffer, off: number): number {
  for (let hops = 0; hops < 128; hops++) {
    if (off >= buf.length) return -1
    const l = buf[off] as number
    if (l === 0) return off + 1
    if ((l & 0xc0) === 0xc0) return off + 2 <= buf.length ? off + 2 : -1
    if (l > 63) return -1
    off += l + 1
  }
  return -1
}

/** Reads an uncompressed name at `off` into dotted lowercase (the root is ''), or null if malformed. */
export function readName(buf: Buffer, off: number): { name: string; end: number } | null {
  const labels: string[] = []
  for (let i = 0; i < 128; i++) {
    if (off >= buf.length) return null
    const l = buf[off] as number
    if (l === 0) return { name: labels.join('.').toLowerCase(), end: off + 1 }
    if (l > 63 || off + 1 + l > buf.length) return null
    labels.push(buf.toString('latin1', off + 1, off + 1 + l))
    off += l + 1
  }
  return null
}

/** Parses the structure of a message; null when it is malformed or truncated. */
export function readMessage(buf: Buffer): MessageView | null {
  if (buf.length < 12) return null
  const qdcount = buf.readUInt16BE(4)
  const counts = [buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)]
  let off = 12
  for (let i = 0; i < qdcount; i++) {
    off = skipName(buf, off)
    if (off < 0 || off + 4 > buf.length) return null
    off += 4
  }
  const questionEnd = off
  const records: RecordRef[] = []
  for (let section = 0; section < 3; section++) {
    for (let i = 0; i < (counts[section] as number); i++) {
      const start = off
      off = skipName(buf, off)
      if (off < 0 || off + 10 > buf.length) return null
      const type = buf.readUInt16BE(off)
      const ttl = buf.readUInt32BE(off + 4)
      const rdataLength = buf.readUInt16BE(off + 8)
      const rdataOffset = off + 10
      off = rdataOffset + rdataLength
      if (off > buf.length) return null
      records.push({ section, start, end: off, type, ttlOffset: rdataOffset - 6, ttl, rdataOffset, rdataLength })
    }
  }
  if (off !== buf.length) return null
  return { id: buf.readUInt16BE(0), flags: buf.readUInt16BE(2), rcode: (buf[3] as number) & 0x0f, qdcount, questionEnd, records }
}

/** The MINIMUM field of a SOA record's RDATA (after MNAME and RNAME), or null if malformed. */
export function soaMinimum(buf: Buffer, rec: RecordRef): number | null {
  let off = skipName(buf, rec.rdataOffset)
  if (off < 0) return null
  off = skipName(buf, off)
  if (off < 0 || off + 20 > rec.rdataOffset + rec.rdataLength) return null
  return buf.readUInt32BE(off + 16)
}

/** Whether two wire questions (name without pointers, then type and class) are equal, the name ignoring case. */
export function sameQuestion(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) return false
  const nameEnd = skipName(a, 0)
  if (nameEnd < 0 || nameEnd + 4 !== a.length) return false
  for (let i = 0; i < nameEnd; i++) {
    let x = a[i] as number
    let y = b[i] as number
    if (x >= 0x41 && x <= 0x5a) x |= 0x20
    if (y >= 0x41 && y <= 0x5a) y |= 0x20
    if (x !== y) return false
  }
  return a.compare(b, nameEnd, a.length, nameEnd, a.length) === 0
}
