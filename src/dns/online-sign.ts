/**
 * @module dns/online-sign
 * The signed answers that depend on the name asked, made per query (RFC 9824 compact denial, as Knot's
 * mod-onlinesign and Cloudflare make them): a name that does not exist gets a NODATA-style answer with one
 * NSEC at that name (NXNAME in its bitmap; NXDOMAIN only when the query set CO), and a wildcard's or a DNAME's
 * synthesis is signed as the records of the name asked (a resolver then needs no proof that the name itself
 * does not exist). Everything else signed is precompiled (zone/compile.ts); answer.ts hands these over.
 *
 * How: the query is answered again without DO from the plain table, and that reply's records are signed
 * RRset by RRset, through the zone's signer (its cache makes a repeated RRset a lookup). Off the hot path, on
 * the main thread (workers pass these on): a signature costs tens of microseconds.
 */
import { parentName, readName, wireKey } from '../zone/name.ts'
import { compactNsec } from '../zone/nsec.ts'
import type { ZoneSigner } from '../zone/signer.ts'
import { BELOW_SYNTHESIZED, DESC } from '../zone/table.ts'
import type { AnswerTable } from '../zone/table.ts'
import type { Name, Rec } from '../zone/types.ts'
import { answer, SEND, Reply } from './answer.ts'
import type { ViewTable } from './view-table.ts'
import { EDNS_PAYLOAD, readMessage, skipName } from './wire.ts'
import type { MessageView } from './wire.ts'

const TYPE_NS = 2
const TYPE_CNAME = 5
const TYPE_DS = 43
const TYPE_NSEC = 47
const TYPE_SOA = 6
const TYPE_OPT = 41
const TYPE_RRSIG = 46
const TYPE_ANY = 255
const RCODE_NXDOMAIN = 3
const RCODE_SERVFAIL = 2
/** Types whose rdata is one name, decompressed before signing (RFC 4034 6.2). */
const NAME_RDATA = new Set([2, 5, 12, 39])

interface Rr {
  /** The owner as read (lowercase), and whether it was a pointer to the question (kept so: 0x20 case). */
  readonly owner: Name
  readonly atQuestion: boolean
  readonly type: number
  readonly ttl: number
  readonly rdata: Buffer
}

/**
 * The signed answer to `req` (a query with DO that answer.ts handed over with `online` set), or null to drop.
 * `table` is the plain table of the client's view; `subnetViews` as answer() takes it.
 */
export function answerOnline(req: Buffer, tcp: boolean, table: AnswerTable, transport: Reply, signer: ZoneSigner, subnetViews: ViewTable | null): Buffer | null {
  const signed = table.signed
  const plainReq = Buffer.from(req)
  // The OPT's TTL field: extended rcode, version, then the flags' high byte (DO, CO).
  const optRecord = readMessage(plainReq)?.records.find((r) => r.type === TYPE_OPT)
  if (signed === null || optRecord === undefined) return null
  const flags = optRecord.ttlOffset + 2
  const co = ((plainReq[flags] as number) & 0x40) !== 0
  plainReq[flags] = (plainReq[flags] as number) & ~0xc0 // the same query without DO (and CO): the plain answer
  const reply = new Reply(transport.identity, transport.cookies)
  reply.peer = transport.peer
  if (answer(plainReq, tcp, table, reply, subnetViews) !== SEND) return null
  const msg = Buffer.concat([reply.head, reply.body, reply.auth, reply.opt])
  const view = readMessage(msg)
  if (view === null) return null
  const opt = Buffer.from(reply.opt)
  if (opt.length >= 11) opt[7] = (opt[7] as number) | 0x80 | (co ? 0x40 : 0)
  const limit = tcp ? 65535 : reply.ednsSize === 0 ? 512 : Math.min(reply.ednsSize, EDNS_PAYLOAD)
  try {
    return signReply(msg, view, opt, co, table, signed, signer, limit)
  } catch {
    // A name the signer cannot take (it never should): SERVFAIL rather than an answer that would not validate.
    const head = Buffer.from(reply.head)
    head[3] = ((head[3] as number) & 0xf0) | RCODE_SERVFAIL
    head.writeUInt32BE(0, 6)
    head.writeUInt16BE(opt.length === 0 ? 0 : 1, 10)
    return Buffer.concat([head, opt])
  }
}

function signReply(msg: Buffer, view: MessageView, opt: Buffer, co: boolean, table: AnswerTable, signed: AnswerTable, signer: ZoneSigner, limit: number): Buffer {
  const qend = view.questionEnd
  const qname = readWireName(msg, 12).name.toLowerCase()
  const [answerRrs, authorityRrs, additionalRrs] = [0, 1, 2].map((section) => rrsOf(msg, view, section)) as [Rr[], Rr[], Rr[]]
  let rcode = (msg[3] as number) & 0x0f
  const out: Buffer[] = []
  const an = writeSigned(answerRrs, out, table, signer)
  let ns = 0
  const soa = authorityRrs.find((r) => r.type === TYPE_SOA)
  if (soa !== undefined) {
    // A denial: the NSEC at the name the answer ends at, and the zone's SOA, both signed.
    const lastCname = answerRrs.filter((r) => r.type === TYPE_CNAME).at(-1)
    const name = lastCname === undefined ? qname : readName(lastCname.rdata, 0)
    const missing = rcode === RCODE_NXDOMAIN
    const apex = apexOf(soa.owner, table)
    ns += writeSigned([nsecRr(name, name === qname && lastCname === undefined, missing ? null : typesAt(table, name), soa.ttl, table)], out, table, signer)
    const negative = apex === null ? undefined : signed.negatives.find((n) => n.key === wireKey(apex))
    if (negative === undefined) ns += writeSigned([soa], out, table, signer)
    else { out.push(negative.soa); ns += negative.count }
    if (missing && !co) rcode = 0 // compact denial (RFC 9824 3)
  } else {
    for (const r of authorityRrs) { out.push(record(r)); ns++ } // a referral's NS, unsigned (RFC 4035 2.2)
    // A referral (or a chain that ran into one): the cut's DS, or the NSEC proving it has none (RFC 4035 3.1.4).
    const cut = authorityRrs.find((r) => r.type === TYPE_NS)?.owner
    if (cut !== undefined) {
      const ds = dsAt(cut, table)
      ns += ds.length > 0 ? writeSigned(ds, out, table, signer)
        : writeSigned([nsecRr(cut, false, [TYPE_NS], 0, table)], out, table, signer)
    }
  }
  const ar = writeSigned(additionalRrs, out, table, signer)
  const head = Buffer.from(msg.subarray(0, qend))
  head[3] = ((head[3] as number) & 0xf0) | rcode
  const body = Buffer.concat(out)
  if (qend + body.length + opt.length > limit) {
    // Too big for this transport: TC, and the client asks again over TCP (RFC 1035 4.2.1).
    head[2] = (head[2] as number) | 0x02
    head.writeUInt32BE(0x00010000, 4)
    head.writeUInt32BE(opt.length === 0 ? 0 : 1, 8)
    return Buffer.concat([head, opt])
  }
  head.writeUInt16BE(an, 6)
  head.writeUInt16BE(ns, 8)
  head.writeUInt16BE(ar + (opt.length === 0 ? 0 : 1), 10)
  return Buffer.concat([head, body, opt])
}

/**
 * One section's records (the OPT aside), names decompressed and lowercase (RFC 4034 6.2), the owner's pointer
 * to the question kept.
 */
function rrsOf(msg: Buffer, view: MessageView, section: number): Rr[] {
  const out: Rr[] = []
  for (const r of view.records) {
    if (r.section !== section || r.type === TYPE_OPT) continue
    const owner = readWireName(msg, r.start)
    const rdata = NAME_RDATA.has(r.type) ? Buffer.from(wireKey(readWireName(msg, r.rdataOffset).name.toLowerCase()), 'latin1')
      : Buffer.from(msg.subarray(r.rdataOffset, r.rdataOffset + r.rdataLength))
    out.push({ owner: owner.name.toLowerCase(), atQuestion: owner.pointer === 12, type: r.type, ttl: r.ttl, rdata })
  }
  return out
}

/** Writes the records, each RRset (consecutive, one owner and type) followed by its RRSIGs; returns the count. */
function writeSigned(rrs: readonly Rr[], out: Buffer[], table: AnswerTable, signer: ZoneSigner): number {
  let count = 0
  for (let i = 0; i < rrs.length;) {
    const first = rrs[i] as Rr
    let j = i
    while (j < rrs.length && (rrs[j] as Rr).owner === first.owner && (rrs[j] as Rr).type === first.type) j++
    const set = rrs.slice(i, j)
    const ttl = Math.min(...set.map((r) => r.ttl))
    for (const r of set) out.push(record({ ...r, ttl }))
    count += set.length
    const apex = apexOf(first.owner, table)
    if (apex !== null && first.type !== TYPE_RRSIG) {
      const recs: Rec[] = set.map((r) => ({ name: first.owner, ttl, data: { type: `TYPE${r.type}`, hex: r.rdata.toString('hex') } }))
      for (const sig of signer.sign(apex, recs, ttl)) {
        out.push(record({ owner: first.owner, atQuestion: first.atQuestion, type: TYPE_RRSIG, ttl, rdata: Buffer.from(sig.data.type === 'RRSIG' ? sig.data.hex : '', 'hex') }))
        count++
      }
    }
    i = j
  }
  return count
}

/** The compact-denial NSEC at `name` (types null: it does not exist); TTL 0: the zone's negative TTL. */
function nsecRr(name: Name, atQuestion: boolean, types: number[] | null, ttl: number, table: AnswerTable): Rr {
  const negativeTtl = ttl !== 0 ? ttl : soaTtlOf(name, table)
  const nsec = compactNsec(name, types, negativeTtl)
  return { owner: name, atQuestion, type: TYPE_NSEC, ttl: negativeTtl, rdata: Buffer.from(nsec.data.type === 'NSEC' ? nsec.data.hex : '', 'hex') }
}

/** The negative TTL of the zone of `name`: its negative SOA's TTL, as the table holds it. */
function soaTtlOf(name: Name, table: AnswerTable): number {
  const apex = apexOf(name, table)
  const soa = apex === null ? undefined : table.negatives.find((n) => n.key === wireKey(apex))?.soa
  if (soa === undefined || soa.length === 0) return 0
  return soa.readUInt32BE(skipName(soa, 0) + 4)
}

/** The DS records at a zone cut, asked of the plain table as a query of its own. */
function dsAt(cut: Name, table: AnswerTable): Rr[] {
  const q = Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), Buffer.from(wireKey(cut), 'latin1'), Buffer.from([0, TYPE_DS, 0, 1])])
  const reply = new Reply()
  if (answer(q, true, table, reply) !== SEND) return []
  const msg = Buffer.concat([reply.head, reply.body, reply.auth])
  const view = readMessage(msg)
  return view === null ? [] : rrsOf(msg, view, 0).filter((r) => r.type === TYPE_DS).map((r) => ({ ...r, atQuestion: false }))
}

/** One record's wire form: the owner a pointer to the question where it was one, else in full. */
function record(r: Rr): Buffer {
  const owner = r.atQuestion ? Buffer.from([0xc0, 12]) : Buffer.from(wireKey(r.owner), 'latin1')
  const fixed = Buffer.alloc(10)
  fixed.writeUInt16BE(r.type, 0)
  fixed.writeUInt16BE(1, 2)
  fixed.writeUInt32BE(r.ttl >>> 0, 4)
  fixed.writeUInt16BE(r.rdata.length, 8)
  return Buffer.concat([owner, fixed, r.rdata])
}

/** The apex of the zone of ours that holds `name`, or null. */
function apexOf(name: Name, table: AnswerTable): Name | null {
  for (let n: Name | null = name; n !== null; n = parentName(n)) {
    if (table.apexes.has(wireKey(n))) return n
  }
  return null
}

/**
 * The types at a name that exists (its entry's qtypes), or at a wildcard's expansion (the wildcard's): the
 * bitmap of its NSEC.
 */
function typesAt(table: AnswerTable, name: Name): number[] {
  let entry = table.names.get(wireKey(name))
  for (let n = parentName(name); entry === undefined && n !== null; n = parentName(n)) {
    const enc = table.names.get(wireKey(n))
    if (enc === undefined) continue
    if (enc.readUInt16BE(1 + (enc[0] as number) * DESC + 10) === BELOW_SYNTHESIZED) entry = table.wildcards.get(wireKey(n))
    break
  }
  if (entry === undefined) return []
  const out: number[] = []
  for (let i = 0; i < (entry[0] as number); i++) {
    const t = entry.readUInt16BE(1 + i * DESC)
    if (t !== TYPE_ANY) out.push(t)
  }
  return out
}

/** Reads a name, following compression pointers (bounded); `pointer`: where a leading pointer went, else -1. */
function readWireName(msg: Buffer, start: number): { name: Name; end: number; pointer: number } {
  const labels: string[] = []
  let o = start
  let end = -1
  let pointer = -1
  for (let hops = 0; hops < 64; hops++) {
    const l = msg[o]
    if (l === undefined) throw new RangeError('name runs past the message')
    if (l >= 0xc0) {
      const to = msg.readUInt16BE(o) & 0x3fff
      if (end < 0) end = o + 2
      if (o === start) pointer = to
      o = to
      continue
    }
    if (l === 0) return { name: labels.join('.'), end: end < 0 ? o + 1 : end, pointer }
    labels.push(msg.toString('latin1', o + 1, o + 1 + l))
    o += l + 1
  }
  throw new RangeError('a compression loop')
}
