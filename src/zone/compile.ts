/**
 * @module zone/compile
 * Owner name → wire answers, for every qtype it can be asked. Runs when a name changes, never per query.
 * CNAME chains inside our zones are followed here (RFC 1034 4.3.2 step 3a), and RFC 8482 ANY answers and
 * additional-section addresses (RFC 1035 3.3) are prepared here too. Every name read is reported through
 * `read`, so the store can recompile this owner when one of those names changes.
 */
import { belowFlag, dnameEntry, dnameTarget, wildcardOwner } from './adjust.ts'
import { readName, wireKey, wireLength } from './name.ts'
import { compactNsec } from './nsec.ts'
import { compiled, denial, packEntry, PARTIAL, RCODE_NOERROR, RCODE_NXDOMAIN, REFERRAL } from './table.ts'
import type { AnswerTable, Compiled, NameEntry, ZoneNegative } from './table.ts'
import { RecordType, typeCode } from './types.ts'
import type { Name, Rec, TypeName } from './types.ts'
import { WireWriter } from './writer.ts'

export const QTYPE_ANY = 255
const MAX_CHAIN = 16
/**
 * The most a body's answers may take: a message is at most 65535 octets (RFC 1035 4.2.2), less the header, the
 * longest question (a 255-octet name, type, class) and room for an OPT record with its options (NSID, a
 * cookie, a client subnet). An RRset larger than this is answered with the records that fit (PARTIAL).
 */
export const MAX_ANSWER_BYTES = 65535 - 12 - 259 - 512

/** RRsets up to this size are answered round-robin (one precompiled body per rotation). */
const MAX_ROTATIONS = 16

export interface ZoneInfo {
  readonly apex: Name
  readonly negative: ZoneNegative
  /** Shared NODATA answer (NOERROR, SOA in authority) for names of this zone. */
  readonly nodata: Compiled
  /** Shared NXDOMAIN answer for names below the apex that do not exist. */
  readonly nxdomain: Compiled
  /**
   * In a signed target: the RRSIGs over an RRset of this zone (TTL as served), and the TTL of its denials'
   * NSEC (the negative TTL, RFC 9077); null in the plain one.
   */
  readonly signing: { readonly sign: (rrset: readonly Rec[], ttl: number) => readonly Rec[]; readonly nsecTtl: number } | null
}

/** The RRSIGs to write after an RRset ([] for none). */
type Sign = (rrset: readonly Rec[]) => readonly Rec[]

/** What the compiler may read of the zone; each read is reported, to track what to recompile later. */
export interface ZoneView {
  zoneOf(name: Name): ZoneInfo | null
  /** Effective RRsets at `name` by type, or undefined when the name has no records. */
  rrsets(name: Name): ReadonlyMap<TypeName, readonly Rec[]> | undefined
  /** Has records, or names below it (an empty non-terminal, RFC 8020). */
  exists(name: Name): boolean
  /** The zone cut `name` is at or below (the topmost non-apex name with NS above it, itself included), or null. */
  cutOf(name: Name): Name | null
}

/** What filing a name in the answer table reads of the store, beyond what its answers read. */
export interface StoreView extends ZoneView {
  /** At or below a DNAME's target: the names here are answered once more, in full, for the DNAME's chase. */
  belowDnameTarget(name: Name): boolean
}

export interface NameAnswers {
  /** qtype → answer, ANY included. */
  readonly byType: Map<number, Compiled>
  /** The answer for every other qtype. */
  readonly others: Compiled
  /** At or below a zone cut: the name answers with referrals, and so do the names below it. */
  readonly referral?: boolean
}

type Encode = (qname: Name, answer: readonly (readonly Rec[])[], additional: readonly (readonly Rec[])[], rcode: number, negative: ZoneNegative | null, authority?: readonly (readonly Rec[])[]) => Compiled
/**
 * A negative answer at `owner` (after the `chain` that led there, if any): the zone's shared one, or in a signed
 * target the NSEC at `owner` listing `types` (null: the name does not exist) with its RRSIGs (RFC 9824).
 */
type Deny = (qname: Name, chain: readonly (readonly Rec[])[], owner: Name, types: Iterable<number> | null, rcode: number, zone: ZoneInfo) => Compiled

/**
 * What signs the RRsets of a signed target: each with its own zone's key; never a zone cut's NS or the glue
 * below it (RFC 4035 2.2: not authoritative data), but a DS or NSEC at the cut.
 */
function signerOf(view: ZoneView): Sign {
  return (rrset) => {
    const first = rrset[0]
    if (first === undefined) return []
    const signing = view.zoneOf(first.name)?.signing
    if (signing === undefined || signing === null) return []
    const t = first.data.type
    if (t !== 'DS' && t !== 'NSEC' && view.cutOf(first.name) !== null) return []
    return signing.sign(rrset, rrsetTtl(rrset))
  }
}

/** The types at an owner, by code, for its NSEC. */
function codesOf(sets: ReadonlyMap<TypeName, readonly Rec[]> | undefined): number[] {
  return sets === undefined ? [] : [...sets.keys()].map(typeCode)
}

/**
 * In a signed zone, what follows a zone cut's NS (a referral, or a chain that ran into one): the cut's DS, or the
 * NSEC that proves it has none (RFC 4035 3.1.4); nothing unsigned.
 */
function cutProof(cut: Name, sets: ReadonlyMap<TypeName, readonly Rec[]> | undefined, zone: ZoneInfo): (readonly Rec[])[] {
  if (zone.signing === null) return []
  return [sets?.get('DS') ?? [compactNsec(cut, codesOf(sets), zone.signing.nsecTtl)]]
}

/** An RRset with its RRSIGs after it, in a signed target. */
function withSignatures(rrset: readonly Rec[], sign: Sign | null): readonly Rec[] {
  return sign === null ? rrset : [...rrset, ...sign(rrset)]
}

/**
 * Compiles every answer for `name`; null when the name is in no zone or does not exist. `synthesized`: for a
 * wildcard owner, the answers synthesised for the names below its parent (RFC 4592 3.3.1), whose owner is
 * whatever name was asked: a pointer to the question, every other name written in full.
 */
export function compileName(name: Name, view: ZoneView, read: (name: Name) => void, synthesized = false, fullNames = false): NameAnswers | null {
  // fullNames: every owner written in full, for answers appended after others (a DNAME's chase, RFC 6672 3.2).
  const zone = view.zoneOf(name)
  if (zone === null) return null
  const cut = view.cutOf(name)
  // A wildcard's expansion is signed for the name asked, off the hot path (dns/online-sign.ts); a referral
  // below a cut names the cut in full, so it is signed here.
  const sign = zone.signing === null || (synthesized && cut === null) ? null : signerOf(view)
  const encode: Encode = (q, answer, additional, rcode, negative, authority) => encodeAnswer(fullNames ? '' : q, answer, additional, rcode, negative, synthesized || fullNames, authority, sign)
  const deny: Deny = (q, chain, owner, types, rcode, z) => {
    if (sign === null || z.signing === null) return chain.length === 0 ? (rcode === RCODE_NOERROR ? z.nodata : z.nxdomain) : encode(q, chain, [], rcode, z.negative)
    const nsec = compactNsec(owner, types, z.signing.nsecTtl)
    return encodeDenial(fullNames ? '' : q, chain, [[nsec]], rcode, z.negative, synthesized || fullNames, sign)
  }
  if (cut !== null) return compileReferral(name, cut, zone, view, read, encode, deny, synthesized)
  const sets = view.rrsets(name)
  if (sets === undefined) return view.exists(name) ? { byType: new Map(), others: deny(name, [], name, [], RCODE_NOERROR, zone) } : null
  const cname = sets.get('CNAME')
  if (cname !== undefined) return compileAlias(name, cname, view, read, encode, deny)

  const byType = new Map<number, Compiled>()
  let lowest = Infinity
  for (const [type, recs] of sets) {
    const code = typeCode(type)
    byType.set(code, encode(name, [recs], additionalFor(zone, recs, view, read), RCODE_NOERROR, null))
    lowest = Math.min(lowest, code)
  }
  // RFC 8482 4.1: answer ANY with one RRset; the lowest type code keeps the choice stable.
  byType.set(QTYPE_ANY, byType.get(lowest) as Compiled)
  return { byType, others: deny(name, [], name, codesOf(sets), RCODE_NOERROR, zone) }
}

/**
 * At or below a zone cut, the parent is not authoritative (RFC 1034 4.3.2 step 3b): every qtype gets the
 * referral, the cut's NS with the addresses of those NS targets that are in this zone (glue) in additional,
 * AA clear. Only DS at the cut itself is the parent's to answer, authoritatively (RFC 4035 3.1.4.1).
 */
function compileReferral(name: Name, cut: Name, zone: ZoneInfo, view: ZoneView, read: (name: Name) => void, encode: Encode, deny: Deny, below: boolean): NameAnswers | null {
  read(cut)
  const sets = view.rrsets(cut)
  const ns = sets?.get('NS')
  if (ns === undefined) return null
  // For the names below (`below`), whatever was asked: the cut's name in full, never the question's pointer.
  const r = encode(below ? '' : name, [ns, ...cutProof(cut, sets, zone)], additionalFor(zone, ns, view, read), RCODE_NOERROR, null)
  const referral = compiled(REFERRAL | RCODE_NOERROR, r.an, r.ar, r.body, r.answerBytes, null, r.rotations)
  const byType = new Map<number, Compiled>()
  if (name === cut && !below) {
    const ds = sets?.get('DS')
    byType.set(RecordType.DS, ds === undefined ? deny(name, [], name, codesOf(sets), RCODE_NOERROR, zone) : encode(name, [ds], [], RCODE_NOERROR, null))
  }
  return { byType, others: referral, referral: true }
}

/** `name` owns a CNAME: follow it through our zones and prepare the chain for every type at its end. */
function compileAlias(name: Name, cname: readonly Rec[], view: ZoneView, read: (name: Name) => void, encode: Encode, deny: Deny): NameAnswers {
  const own = encode(name, [cname], [], RCODE_NOERROR, null)
  const byType = new Map<number, Compiled>([[RecordType.CNAME, own], [QTYPE_ANY, own]])
  const chain: (readonly Rec[])[] = [cname]
  const seen = new Set<Name>([name])
  let target = targetOf(cname)
  for (let hops = 0; hops < MAX_CHAIN; hops++) {
    read(target)
    const zone = view.zoneOf(target)
    // A target outside our zones is left to the resolver (RFC 1034 4.3.2 step 3c): the chain alone.
    if (zone === null) return { byType, others: encode(name, chain, [], RCODE_NOERROR, null) }
    // A target at or below a zone cut of ours (RFC 2317 reverse delegation, say): the chain, then the cut's
    // referral, NS in authority and glue in additional, for every qtype (RFC 1034 4.3.2 step 3b), as knotd does.
    const cut = view.cutOf(target)
    const cutSets = cut === null ? undefined : (read(cut), view.rrsets(cut))
    const ns = cutSets?.get('NS')
    // Signed, the cut's DS or the NSEC proving it has none follows its NS, as in a referral.
    if (ns !== undefined && cut !== null) return { byType, others: encode(name, chain, additionalFor(zone, ns, view, read), RCODE_NOERROR, null, [ns, ...cutProof(cut, cutSets, zone)]) }
    const sets = view.rrsets(target)
    const next = sets?.get('CNAME')
    if (next !== undefined && !seen.has(target)) {
      seen.add(target)
      chain.push(next)
      target = targetOf(next)
      continue
    }
    // A loop: the chain round it once, and no SOA in authority: the answer is not negative (as knotd
    // answers it); the resolver sees the loop and fails it.
    if (next !== undefined) return { byType, others: encode(name, chain, [], RCODE_NOERROR, null) }
    if (sets === undefined) {
      // A name without records: NODATA if it exists, else NXDOMAIN (RFC 6604 2.1).
      const exists = view.exists(target)
      return { byType, others: deny(name, chain, target, exists ? [] : null, exists ? RCODE_NOERROR : RCODE_NXDOMAIN, zone) }
    }
    for (const [type, recs] of sets) {
      byType.set(typeCode(type), encode(name, [...chain, recs], additionalFor(zone, recs, view, read), RCODE_NOERROR, null))
    }
    return { byType, others: deny(name, chain, target, codesOf(sets), RCODE_NOERROR, zone) }
  }
  // Longer than MAX_CHAIN: return what we followed and let the resolver go on.
  return { byType, others: encode(name, chain, [], RCODE_NOERROR, null) }
}

function targetOf(cname: readonly Rec[]): Name {
  const data = (cname[0] as Rec).data
  return data.type === 'CNAME' ? data.target : ''
}

/**
 * Addresses of NS, MX, SRV, SVCB and HTTPS targets in the same zone, as Knot and BIND add them (RFC 1035
 * 3.3.9, 3.3.11, RFC 9460 4.1).
 */
function additionalFor(zone: ZoneInfo, recs: readonly Rec[], view: ZoneView, read: (name: Name) => void): (readonly Rec[])[] {
  const out: (readonly Rec[])[] = []
  const done = new Set<Name>()
  for (const rec of recs) {
    const d = rec.data
    const target = d.type === 'NS' ? d.target : d.type === 'MX' ? d.exchange : d.type === 'SRV' ? d.target
      : d.type === 'SVCB' || d.type === 'HTTPS' ? svcTarget(rec.name, d.hex) : null
    if (target === null || done.has(target)) continue
    done.add(target)
    read(target)
    if (view.zoneOf(target)?.apex !== zone.apex) continue
    const sets = view.rrsets(target)
    const a = sets?.get('A')
    const aaaa = sets?.get('AAAA')
    if (a !== undefined) out.push(a)
    if (aaaa !== undefined) out.push(aaaa)
  }
  return out
}

/** An SVCB/HTTPS record's TargetName (after the 2-byte priority); '.' in ServiceMode is the owner (RFC 9460 2.5). */
function svcTarget(owner: Name, hex: string): Name | null {
  const b = Buffer.from(hex, 'hex')
  const target = readName(b, 2)
  if (target !== '') return target
  return b.readUInt16BE(0) === 0 ? null : owner
}

/** One RRset's TTL: the smallest of its records (RFC 2181 5.2 says they should all be equal). */
export function rrsetTtl(recs: readonly Rec[]): number {
  let ttl = Infinity
  for (const r of recs) ttl = Math.min(ttl, r.ttl)
  return ttl
}

/**
 * Encodes answer RRsets (and additional ones) as the bytes that follow the question of `qname`. When the
 * last answered RRset has several records, each rotation of it is precompiled too, so the hot path can hand
 * them out in turn (round-robin across replicas) without building anything per query.
 */
export function encodeAnswer(
  qname: Name, answer: readonly (readonly Rec[])[], additional: readonly (readonly Rec[])[], rcode: number,
  negative: ZoneNegative | null, synthesized = false, authority: readonly (readonly Rec[])[] = [], sign: Sign | null = null,
): Compiled {
  const first = encodeBody(qname, answer, additional, synthesized, authority, sign)
  if (first.partial) return compiled(rcode | PARTIAL, first.an, 0, first.body, first.answerBytes, negative, null, 0)
  const last = answer.at(-1)
  let rotations: Buffer[] | null = null
  if (last !== undefined && last.length > 1 && last.length <= MAX_ROTATIONS) {
    rotations = [first.body]
    for (let k = 1; k < last.length; k++) {
      rotations.push(encodeBody(qname, [...answer.slice(0, -1), [...last.slice(k), ...last.slice(0, k)]], additional, synthesized, authority, sign).body)
    }
  }
  return compiled(rcode, first.an, first.ar, first.body, first.answerBytes, negative, rotations, first.ns)
}

/**
 * A signed denial (table.ts DENIAL): the `chain` (signed), then `authority` (the NSEC and its RRSIGs); the
 * negative SOA follows from the table.
 */
function encodeDenial(qname: Name, chain: readonly (readonly Rec[])[], authority: readonly (readonly Rec[])[], rcode: number, negative: ZoneNegative, synthesized: boolean, sign: Sign): Compiled {
  const b = encodeBody(qname, chain, [], synthesized, authority, sign)
  return denial(b.partial ? rcode | PARTIAL : rcode, b.an, b.partial ? 0 : b.ns, b.body, negative)
}

function encodeBody(qname: Name, answer: readonly (readonly Rec[])[], additional: readonly (readonly Rec[])[], synthesized: boolean, authority: readonly (readonly Rec[])[], sign: Sign | null = null): { body: Buffer; an: number; ns: number; ar: number; answerBytes: number; partial: boolean } {
  // Synthesised from a wildcard: neither the asked name's length nor its labels are known, so the owner is a
  // pointer to the question and every other name is written in full (no pointer into the body either).
  const w = synthesized ? new WireWriter(0, null) : bodyWriter(qname)
  let an = 0
  // In a signed target, each RRset's RRSIGs follow it, with its TTL.
  for (const unsigned of answer) {
    const ttl = rrsetTtl(unsigned)
    for (const rec of withSignatures(unsigned, sign)) {
      const before = w.length
      w.record(rec, ttl, rec.name === qname ? 12 : null)
      // Too big for any message: the records that fit, nothing after them, and TC (RFC 2181 9).
      if (w.length > MAX_ANSWER_BYTES) { w.truncate(before); return { body: w.finish(), an, ns: 0, ar: 0, answerBytes: before, partial: true } }
      an++
    }
  }
  let ns = 0
  for (const unsigned of authority) {
    const ttl = rrsetTtl(unsigned)
    for (const rec of withSignatures(unsigned, sign)) { w.record(rec, ttl, null); ns++ }
  }
  const answerBytes = w.length
  let ar = 0
  for (const unsigned of additional) {
    const ttl = rrsetTtl(unsigned)
    for (const rec of withSignatures(unsigned, sign)) { w.record(rec, ttl, null); ar++ }
  }
  return { body: w.finish(), an, ns, ar, answerBytes, partial: false }
}

/** A writer for the bytes after the question of `qname`, compressing against it. */
function bodyWriter(qname: Name): WireWriter {
  const dict = new Map<Name, number>()
  let offset = 12
  let rest = qname
  while (rest !== '') {
    dict.set(rest, offset)
    const dot = rest.indexOf('.')
    offset += (dot < 0 ? rest.length : dot) + 1
    rest = dot < 0 ? '' : rest.slice(dot + 1)
  }
  return new WireWriter(12 + wireLength(qname) + 4, dict)
}

/** The negative-answer SOA (RFC 2308 3): TTL = min(SOA TTL, MINIMUM), every name in full. */
export function encodeNegativeSoa(soa: Rec): Buffer {
  const w = new WireWriter(0, null)
  const minimum = soa.data.type === 'SOA' ? soa.data.minimum : 0
  w.record(soa, Math.min(soa.ttl, minimum), null)
  return w.finish()
}

/**
 * Compiles `name` and files it in the table: its entry, and what the names below it that do not exist get
 * (adjust.ts: at or below a zone cut, the referral; a DNAME's target; or what a wildcard `*.<name>`
 * synthesises, compiled from the wildcard's records, which mark this name dirty when they move), and below a
 * DNAME's target its answers once more for the chase. Returns its answers, null when it has none.
 */
export function compileInto(table: AnswerTable, name: Name, view: StoreView, read: (name: Name) => void): NameAnswers | null {
  const wire = wireKey(name)
  const result = compileName(name, view, read)
  const referral = result?.referral === true
  const dname = result === null || referral ? undefined : view.rrsets(name)?.get('DNAME')?.[0]
  const hasWild = result !== null && !referral && view.rrsets(wildcardOwner(name)) !== undefined
  let below: NameEntry | null = null
  if (referral) below = packed(compileName(name, view, read, true))
  else if (dname !== undefined && dname.data.type === 'DNAME') {
    below = dnameEntry(dname.ttl, dname.data.hex, view.zoneOf(dnameTarget(dname.data.hex))?.negative.index ?? null)
  } else if (hasWild) below = packed(compileName(wildcardOwner(name), view, read, true))
  if (below !== null) table.setWildcard(wire, below)
  else if (table.wildcards.has(wire)) table.deleteWildcard(wire)
  // Below a DNAME's target: the answers once more, every owner in full, for the DNAME's chase (a referral at
  // or below a cut included: the chase then ends in it).
  const chase = result !== null && view.belowDnameTarget(name) ? packed(compileName(name, view, read, false, true)) : null
  if (chase !== null) table.setChase(wire, chase)
  else if (table.chase.has(wire)) table.deleteChase(wire)
  if (result === null) {
    if (table.names.has(wire)) table.deleteName(wire)
    return null
  }
  // set() overwrites the name's entry in place: delete-then-set churn on a Map of 100k+ entries leaves
  // tombstones that force rehashes, which made changes slower as zones grew (bench/README.md).
  table.setName(wire, packEntry(result.byType, result.others, belowFlag(hasWild, referral, dname !== undefined)))
  return result
}

/** A name's answers as an entry, or null when there are none. */
function packed(answers: NameAnswers | null): NameEntry | null {
  return answers === null ? null : packEntry(answers.byType, answers.others)
}
