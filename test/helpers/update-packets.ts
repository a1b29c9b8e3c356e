/**
 * Dynamic UPDATE messages (RFC 2136 §2) for tests, written by hand: a zone, prerequisites and updates as
 * records with their class, optionally signed with a TSIG key, and the reply read back (rcode, TSIG).
 */
import { sign } from '../../src/dns/tsig.ts'
import type { TsigKey } from '../../src/dns/tsig.ts'
import { RecordType } from '../../src/zone/types.ts'

export const IN = 1
export const NONE = 254
export const ANY = 255

export interface Rr {
  readonly name: string
  /** A mnemonic (`TXT`), `ANY`, or a number. */
  readonly type: string | number
  readonly class: number
  readonly ttl?: number
  /** RDATA as bytes, or as text for A, AAAA, TXT, CNAME; absent: RDLENGTH 0. */
  readonly data?: Buffer | string
}

function name(n: string): Buffer {
  const parts = n.replace(/\.$/, '').split('.').filter((l) => l !== '')
  return Buffer.concat([...parts.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])])
}

function typeCode(t: string | number): number {
  if (typeof t === 'number') return t
  if (t === 'ANY') return 255
  return (RecordType as Record<string, number>)[t] ?? Number(t.replace('TYPE', ''))
}

function rdata(type: number, data: Buffer | string | undefined): Buffer {
  if (data === undefined) return Buffer.alloc(0)
  if (Buffer.isBuffer(data)) return data
  if (type === 1) return Buffer.from(data.split('.').map(Number))
  if (type === 28) {
    const [head, tail] = data.split('::') as [string, string | undefined]
    const h = head === '' ? [] : head.split(':')
    const t = tail === undefined || tail === '' ? [] : tail.split(':')
    const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t]
    return Buffer.concat(groups.map((g) => { const b = Buffer.alloc(2); b.writeUInt16BE(parseInt(g, 16)); return b }))
  }
  if (type === 16) return Buffer.concat([Buffer.from([Buffer.byteLength(data, 'latin1')]), Buffer.from(data, 'latin1')])
  if (type === 5 || type === 2 || type === 12) return name(data)
  throw new Error(`give type ${type}'s RDATA as bytes`)
}

function rr(r: Rr): Buffer {
  const type = typeCode(r.type)
  const data = rdata(type, r.data)
  const fixed = Buffer.alloc(10)
  fixed.writeUInt16BE(type, 0)
  fixed.writeUInt16BE(r.class, 2)
  fixed.writeUInt32BE(r.ttl ?? 0, 4)
  fixed.writeUInt16BE(data.length, 8)
  return Buffer.concat([name(r.name), fixed, data])
}

/** An UPDATE of `zone` (class IN) with these prerequisites and updates; signed when `key` is given. */
export function update(zone: string, o: { prereq?: readonly Rr[]; updates?: readonly Rr[]; key?: TsigKey; time?: number; id?: number } = {}): Buffer {
  const head = Buffer.alloc(12)
  head.writeUInt16BE(o.id ?? 0x5151, 0)
  head[2] = 5 << 3
  head.writeUInt16BE(1, 4)
  head.writeUInt16BE(o.prereq?.length ?? 0, 6)
  head.writeUInt16BE(o.updates?.length ?? 0, 8)
  const zoneSection = Buffer.concat([name(zone), Buffer.from([0, 6, 0, 1])])
  const msg = Buffer.concat([head, zoneSection, ...(o.prereq ?? []).map(rr), ...(o.updates ?? []).map(rr)])
  return o.key === undefined ? msg : sign(msg, o.key, { time: o.time ?? Math.floor(Date.now() / 1000) }).msg
}

/** The rcode of a reply (the header's four bits). */
export function rcodeOf(reply: Buffer): number {
  return (reply[3] as number) & 0x0f
}
