/**
 * Building queries and reading answers off the hot path, with dns2, plus presentation strings for
 * records so expected answers read like dig output.
 */
import dns2 from 'dns2'
import { readMessage } from '../../src/dns/wire.ts'

const { Packet } = dns2

export interface QueryOptions {
  readonly id?: number
  readonly rd?: boolean
  readonly cd?: boolean
  readonly opcode?: number
  /** EDNS payload size; undefined = no OPT record. */
  readonly edns?: number
  readonly ednsVersion?: number
  readonly dnssecOk?: boolean
}

const TYPES: Record<string, number> = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, ANY: 255, AXFR: 252, NULL: 10, HINFO: 13, DS: 43,
  RRSIG: 46, NSEC: 47, DNSKEY: 48, CDS: 59, CDNSKEY: 60,
}

export function qtypeCode(type: string): number {
  const code = TYPES[type.toUpperCase()]
  if (code === undefined) throw new Error(`unknown qtype ${type}`)
  return code
}

/** Wire bytes of a query, written by hand so tests control every bit. */
export function query(name: string, type: string | number, opts: QueryOptions = {}): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter((l) => l !== '')
  const qname = Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])])
  const header = Buffer.alloc(12)
  header.writeUInt16BE(opts.id ?? 0x1234, 0)
  header[2] = ((opts.opcode ?? 0) << 3) | (opts.rd === false ? 0 : 1)
  header[3] = opts.cd === true ? 0x10 : 0
  header.writeUInt16BE(1, 4)
  header.writeUInt16BE(opts.edns === undefined ? 0 : 1, 10)
  const tail = Buffer.alloc(4)
  tail.writeUInt16BE(typeof type === 'number' ? type : qtypeCode(type), 0)
  tail.writeUInt16BE(1, 2)
  const parts: Buffer[] = [header, qname, tail]
  if (opts.edns !== undefined) parts.push(optRecord(opts.edns, opts.ednsVersion ?? 0, opts.dnssecOk ?? false))
  return Buffer.concat(parts)
}

export function optRecord(size: number, version = 0, dnssecOk = false, rdata: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(11)
  b.writeUInt16BE(41, 1)
  b.writeUInt16BE(size, 3)
  b[6] = version
  b[7] = dnssecOk ? 0x80 : 0
  b.writeUInt16BE(rdata.length, 9)
  return Buffer.concat([b, rdata])
}

export interface Decoded {
  readonly id: number
  readonly rcode: number
  readonly flags: { qr: boolean; aa: boolean; tc: boolean; rd: boolean; ra: boolean; cd: boolean; opcode: number }
  readonly qdcount: number
  readonly question: string
  readonly answer: string[]
  readonly authority: string[]
  readonly additional: string[]
  /** The OPT record, if any: payload size, extended rcode byte, version, DO. */
  readonly opt: { size: number; extRcode: number; version: number; do: boolean } | null
}

/** Decodes a response with dns2 (headers and counts read by hand, as dns2 ignores some bits). */
export function decode(buf: Buffer): Decoded {
  const p = Packet.parse(buf) as unknown as {
    questions: { name: string; type: number }[]
    answers: Record<string, unknown>[]; authorities: Record<string, unknown>[]; additionals: Record<string, unknown>[]
  }
  const b2 = buf[2] as number
  const b3 = buf[3] as number
  let opt: Decoded['opt'] = null
  const additional: string[] = []
  for (const r of p.additionals) {
    if (r.type === 41) {
      const ttl = optTtl(buf)
      opt = { size: r.class as number, extRcode: ttl >>> 24, version: (ttl >>> 16) & 0xff, do: (ttl & 0x8000) !== 0 }
    } else additional.push(present(r))
  }
  // TXT as dig shows it, from the octets (dns2 decodes them as UTF-8, which loses what is not).
  const refs = readMessage(buf)?.records ?? []
  const txt = (r: Record<string, unknown>, k: number): string => {
    const ref = refs[k]
    if (r.type !== 16 || ref === undefined || ref.type !== 16) return present(r)
    const head = present({ ...r, type: 16, data: [] }).replace(/ ""$/, '').replace(/ $/, '')
    const strings: string[] = []
    for (let o = ref.rdataOffset, end = ref.rdataOffset + ref.rdataLength; o < end;) {
      const n = buf[o] as number
      strings.push(digString(buf.subarray(o + 1, o + 1 + n)))
      o += 1 + n
    }
    return `${head} ${strings.join(' ')}`
  }
  const q = p.questions[0]
  return {
    id: buf.readUInt16BE(0),
    rcode: b3 & 0x0f,
    flags: { qr: (b2 & 0x80) !== 0, opcode: (b2 >> 3) & 0x0f, aa: (b2 & 4) !== 0, tc: (b2 & 2) !== 0, rd: (b2 & 1) !== 0, ra: (b3 & 0x80) !== 0, cd: (b3 & 0x10) !== 0 },
    qdcount: buf.readUInt16BE(4),
    question: q === undefined ? '' : `${q.name}. ${typeName(q.type)}`,
    answer: p.answers.map((r, k) => txt(r, k)),
    authority: p.authorities.map((r, k) => txt(r, p.answers.length + k)),
    additional,
    opt,
  }
}

/** The OPT TTL field, found by walking the message (dns2 does not expose it). */
function optTtl(buf: Buffer): number {
  // The OPT is the last record in our answers: owner 0, type 41 → TTL at +5 from its start.
  for (let i = buf.length - 11; i >= 12; i--) {
    if (buf[i] === 0 && buf.readUInt16BE(i + 1) === 41 && buf.readUInt16BE(i + 9) === buf.length - i - 11) return buf.readUInt32BE(i + 5)
  }
  return 0
}

function typeName(code: number): string {
  return Object.entries(TYPES).find(([, c]) => c === code)?.[0] ?? `TYPE${code}`
}

/** A character-string as dig writes it: quoted, `"` and `\` escaped, other octets outside printable ASCII as \DDD. */
function digString(b: Uint8Array): string {
  let s = '"'
  for (const c of b) s += c === 0x22 || c === 0x5c ? `\\${String.fromCharCode(c)}` : c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\${String(c).padStart(3, '0')}`
  return `${s}"`
}

/** dig-style presentation of one decoded record, owner lowercased. */
export function present(r: Record<string, unknown>): string {
  const head = `${String(r.name).toLowerCase()}. ${String(r.ttl)} IN ${typeName(r.type as number)}`
  const d = (k: string): string => String(r[k])
  switch (r.type) {
    case 1: case 28: return `${head} ${d('address')}`
    case 2: case 5: case 12: return `${head} ${d('ns') !== 'undefined' ? d('ns') : d('domain')}.`
    case 15: return `${head} ${d('priority')} ${d('exchange')}.`
    case 16: return `${head} ${(r.data as unknown as string[] | string) instanceof Array ? (r.data as string[]).map((s) => `"${s}"`).join(' ') : `"${d('data')}"`}`
    case 33: return `${head} ${d('priority')} ${d('weight')} ${d('port')} ${d('target')}.`
    case 6: return `${head} ${d('primary')}. ${d('admin')}. ${d('serial')} ${d('refresh')} ${d('retry')} ${d('expiration')} ${d('minimum')}`
    default: return head
  }
}
