/**
 * @module update/message
 * Reads a dynamic UPDATE (RFC 2136 §2): the zone section (one SOA question naming the zone), the prerequisite
 * and update sections as records with their class (IN, ANY, NONE) and RDATA, and the additional section's TSIG.
 * Names may be compressed, as nsupdate and dnspython compress them. The RDATA of the types the zone model holds
 * as fields (A, AAAA, CNAME, NS, PTR, MX, TXT, SRV) is read into them, every other type kept as its octets, as
 * zone files keep them (RFC 3597: only RFC 1035's types may compress names in RDATA). Pure: bytes in, a
 * message or the reason it is malformed out; never throws.
 */
import { canonicalName } from '../zone/name.ts'
import { typeName } from '../zone/types.ts'
import type { Name, Rdata, TypeName } from '../zone/types.ts'

export const CLASS_IN = 1
export const CLASS_NONE = 254
export const CLASS_ANY = 255
export const TYPE_SOA = 6
export const TYPE_ANY = 255
const TYPE_TSIG = 250
const TYPE_OPT = 41
/** Meta types an update may never add (RFC 2136 3.4.1.2): AXFR, IXFR, MAILB, MAILA, ANY. */
export const META_TYPES: ReadonlySet<number> = new Set([251, 252, 253, 254, 255])

export interface UpdateRecord {
  readonly name: Name
  readonly type: number
  readonly class: number
  readonly ttl: number
  /** The RDATA as read into the zone model; null when RDLENGTH is 0 (deletes and prerequisites by class). */
  readonly data: Rdata | null
}

export interface UpdateMessage {
  readonly id: number
  readonly zone: Name
  readonly zoneClass: number
  readonly prerequisites: readonly UpdateRecord[]
  readonly updates: readonly UpdateRecord[]
  /** Whether the last record of the additional section is a TSIG. */
  readonly signed: boolean
}

export type ReadUpdate = { readonly ok: true; readonly message: UpdateMessage } | { readonly ok: false; readonly why: string }

/** Bounds-checked reading; the first failure sticks (as Knot's wire_ctx), so callers check once. */
class Cursor {
  readonly buf: Buffer
  off: number
  failed: string | null = null
  constructor(buf: Buffer, off: number) { this.buf = buf; this.off = off }

  fail(why: string): void { this.failed ??= why }

  u8(): number { if (this.off + 1 > this.buf.length) { this.fail('message ends inside a record'); return 0 } return this.buf[this.off++] as number }
  u16(): number { if (this.off + 2 > this.buf.length) { this.fail('message ends inside a record'); return 0 } const v = this.buf.readUInt16BE(this.off); this.off += 2; return v }
  u32(): number { if (this.off + 4 > this.buf.length) { this.fail('message ends inside a record'); return 0 } const v = this.buf.readUInt32BE(this.off); this.off += 4; return v }
  bytes(n: number): Buffer { if (this.off + n > this.buf.length) { this.fail('message ends inside a record'); return Buffer.alloc(0) } const b = this.buf.subarray(this.off, this.off + n); this.off += n; return b }

  /** A name, following compression pointers backwards only; lowercase, no trailing dot. */
  name(): Name {
    const labels: string[] = []
    let off = this.off
    let end = -1
    let length = 1
    for (let hops = 0; ; hops++) {
      if (hops > 127 || off >= this.buf.length) { this.fail('a name runs past the end of the message'); return '' }
      const l = this.buf[off] as number
      if ((l & 0xc0) === 0xc0) {
        if (off + 2 > this.buf.length) { this.fail('a name runs past the end of the message'); return '' }
        const to = this.buf.readUInt16BE(off) & 0x3fff
        if (end < 0) end = off + 2
        if (to >= off) { this.fail('a compression pointer points forward'); return '' }
        off = to
        continue
      }
      if (l > 63) { this.fail('a name has a bad label length'); return '' }
      if (l === 0) { if (end < 0) end = off + 1; break }
      if (off + 1 + l > this.buf.length) { this.fail('a name runs past the end of the message'); return '' }
      length += l + 1
      if (length > 255) { this.fail('a name is longer than 255 octets'); return '' }
      labels.push(this.buf.toString('latin1', off + 1, off + 1 + l))
      off += l + 1
    }
    this.off = end
    return labels.join('.').toLowerCase()
  }
}

/** Reads one record's owner, type, class, TTL and RDATA (into the model). */
function record(c: Cursor): UpdateRecord {
  const name = c.name()
  const type = c.u16()
  const klass = c.u16()
  const ttl = c.u32()
  const rdlength = c.u16()
  const start = c.off
  if (c.failed !== null) return { name, type, class: klass, ttl, data: null }
  if (start + rdlength > c.buf.length) { c.fail('a record\'s RDATA runs past the end of the message'); return { name, type, class: klass, ttl, data: null } }
  const data = rdlength === 0 ? null : rdata(c, type, start + rdlength)
  if (c.failed === null && c.off !== start + rdlength) c.fail(`the RDATA of a ${typeName(type)} record is not the length it says`)
  c.off = start + rdlength
  return { name, type, class: klass, ttl, data }
}

/** RDATA of `type` up to `end`, as the zone model holds it. */
function rdata(c: Cursor, type: number, end: number): Rdata | null {
  const t = typeName(type)
  switch (t) {
    case 'A': {
      if (end - c.off !== 4) { c.fail('an A record is not 4 octets'); return null }
      return { type: 'A', address: [...c.bytes(4)].join('.') }
    }
    case 'AAAA': {
      if (end - c.off !== 16) { c.fail('an AAAA record is not 16 octets'); return null }
      const b = c.bytes(16)
      const groups = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2).toString(16))
      return { type: 'AAAA', address: compressIpv6(groups) }
    }
    case 'CNAME': case 'NS': case 'PTR': return { type: t, target: c.name() }
    case 'MX': { const preference = c.u16(); return { type: 'MX', preference, exchange: c.name() } }
    case 'SRV': { const priority = c.u16(); const weight = c.u16(); const port = c.u16(); return { type: 'SRV', priority, weight, port, target: c.name() } }
    case 'TXT': {
      // Character-strings are octets: kept one character per octet (latin1), as the zone writes them back.
      const strings: string[] = []
      while (c.off < end && c.failed === null) {
        const n = c.u8()
        if (c.off + n > end) { c.fail('a TXT string runs past its record'); return null }
        strings.push(c.bytes(n).toString('latin1'))
      }
      return { type: 'TXT', strings }
    }
    case 'SOA': {
      const mname = c.name()
      const rname = c.name()
      return { type: 'SOA', mname, rname, serial: c.u32(), refresh: c.u32(), retry: c.u32(), expire: c.u32(), minimum: c.u32() }
    }
    default:
      return { type: t as Exclude<TypeName, 'A' | 'AAAA' | 'CNAME' | 'NS' | 'PTR' | 'MX' | 'TXT' | 'SRV' | 'SOA'>, hex: c.bytes(end - c.off).toString('hex') }
  }
}

/** RFC 5952 text of eight hex groups: the longest run of two or more zero groups as '::'. */
function compressIpv6(groups: string[]): string {
  let best = -1
  let bestLen = 1
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') { i++; continue }
    let j = i
    while (j < 8 && groups[j] === '0') j++
    if (j - i > bestLen) { best = i; bestLen = j - i }
    i = j
  }
  if (best < 0) return groups.join(':')
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`
}

/** Reads an UPDATE message; the reason when it is malformed (FORMERR). */
export function readUpdate(buf: Buffer): ReadUpdate {
  if (buf.length < 12) return { ok: false, why: 'shorter than a header' }
  const [zocount, prcount, upcount, adcount] = [buf.readUInt16BE(4), buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)]
  if (zocount !== 1) return { ok: false, why: `the zone section has ${zocount} records, not 1` }
  const c = new Cursor(buf, 12)
  const zone = c.name()
  const ztype = c.u16()
  const zclass = c.u16()
  if (c.failed !== null) return { ok: false, why: c.failed }
  if (ztype !== TYPE_SOA) return { ok: false, why: 'the zone section is not of type SOA' }
  const prerequisites: UpdateRecord[] = []
  const updates: UpdateRecord[] = []
  for (let i = 0; i < prcount && c.failed === null; i++) prerequisites.push(record(c))
  for (let i = 0; i < upcount && c.failed === null; i++) updates.push(record(c))
  let signed = false
  for (let i = 0; i < adcount && c.failed === null; i++) {
    const r = record(c)
    if (r.type === TYPE_TSIG) { if (i !== adcount - 1) c.fail('a TSIG record that is not the last one'); signed = true }
    else if (r.type !== TYPE_OPT) { /* other additional data is related data, not acted on (RFC 2136 2.5) */ }
  }
  if (c.failed !== null) return { ok: false, why: c.failed }
  if (c.off !== buf.length) return { ok: false, why: 'bytes after the last record' }
  for (const r of [...prerequisites, ...updates]) {
    try { canonicalName(r.name) } catch (err) { return { ok: false, why: (err as Error).message } }
  }
  return { ok: true, message: { id: buf.readUInt16BE(0), zone, zoneClass: zclass, prerequisites, updates, signed } }
}
