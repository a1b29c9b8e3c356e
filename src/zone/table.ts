/**
 * @module zone/table
 * The compiled form the hot path reads: for each name, one entry of bytes holding every answer it gives,
 * prepared when the zone changes and kept in a NameTable (zone/name-table.ts). A published entry is never
 * edited; a change writes a new one, so bytes handed to a socket stay valid however long it holds them.
 *
 * Entry layout (big-endian). Byte 0: k, the number of qtypes with an answer of their own. Then k + 1
 * descriptors of DESC bytes, the last one answering every other qtype ("others": NODATA, or the CNAME chain):
 *   +0 u16 qtype (0 in "others")     +2 u8 rcode        +3 u8 n, bodies (0: none; > 1: round-robin rotations)
 *   +4 u16 ANCOUNT                  +6 u16 ARCOUNT     +8 u16 negative: 1 + index in `negatives`, or 0
 *                                                        (with WITH_AUTHORITY: NSCOUNT)
 *   +10 u16 below (0 in all but "others": see BELOW_*) +12 u32 where the n body slots start
 *   +16 u32 answer bytes of body 0 (without the additional section, for when the whole body does not fit)
 * A body slot is u32 offset, u32 length, in the entry. Bodies follow the question of the reply; their names
 * are compressed against the question at offset 12.
 * Offsets are from the entry's first byte. Why bytes rather than objects: at 100k names an array of qtypes
 * and answer objects, each with its own Buffer, cost ~300 B per name, and the hot path followed five
 * pointers per query.
 */

import { NameTable } from './name-table.ts'

/**
 * The zone's negative-answer SOA record (RFC 2308 3), owner written in full, and in a signed table its RRSIGs
 * after it. Swapped on every serial bump.
 */
export interface ZoneNegative {
  /** The zone's wire apex. */
  readonly key: string
  /** Its place in the table's `negatives`, which entries name. */
  readonly index: number
  soa: Buffer
  /** Records in `soa`: 1, or the SOA and its RRSIGs in a signed table. */
  count: number
}

/** One answer as the compiler produces it; `packEntry` turns a name's answers into its entry. */
export interface Compiled {
  readonly rcode: number
  readonly an: number
  readonly ar: number
  /** Answer (and additional) records after the question. */
  readonly body: Buffer
  /** Bytes of `body` before the additional section. */
  readonly answerBytes: number
  /** Set on negative answers: its SOA goes into the authority section (NSCOUNT 1). */
  readonly negative: ZoneNegative | null
  /** Authority records in `body`, after the answer (a CNAME chain that ran into a zone cut: its NS); 0 for none. */
  readonly ns: number
  /** For an answered RRset of several records: `body` with the set rotated by 0, 1, 2, ... (round-robin). */
  readonly rotations: readonly Buffer[] | null
}

/** A name's entry: see the module comment for its layout. */
export type NameEntry = Uint8Array

export const DESC = 20

/**
 * What a miss below a name gets, in its "others" descriptor at +10: worked out when the zone changes (Knot's
 * adjust step), so that a miss walks up the labels once and looks up one name per label.
 */
export const BELOW_NXDOMAIN = 0
/**
 * Answer from this name's entry in `wildcards`: the answers a wildcard `*.<this name>` synthesises (RFC 4592
 * 3.3.1), or, at or below a zone cut, the cut's referral.
 */
export const BELOW_SYNTHESIZED = 1
/**
 * This name owns a DNAME (RFC 6672): names below it get the DNAME and a CNAME synthesised from the question.
 * Its entry in `wildcards` is then not a descriptor entry but [u32 TTL][u16 1 + the negative index of the
 * target's zone when it is one of ours, else 0][the target, wire form].
 */
export const BELOW_DNAME = 2
/**
 * Set in a descriptor's rcode byte: a referral (RFC 1034 4.3.2 step 3b). AA is clear, and the `an` records of
 * the body are the cut's NS, counted in the authority section; the rest is glue, in additional.
 */
export const REFERRAL = 0x80
/**
 * Set in a descriptor's rcode byte: the body holds answer, authority and additional records, and the
 * `negative` field counts the authority ones (a CNAME chain that runs into a zone cut of ours: the chain,
 * then the cut's NS and glue, RFC 1034 4.3.2 step 3a then 3b). No SOA; `answer bytes` covers the authority.
 */
export const WITH_AUTHORITY = 0x40
/**
 * Set in a descriptor's rcode byte: the answer RRset is too big for any message, and the body holds the records
 * that fit (RFC 2181 9: a partial RRset may be left in a response with TC set). The hot path sets TC, over TCP
 * too: `(rc & PARTIAL) >> 4` is the header's TC bit.
 */
export const PARTIAL = 0x20
/**
 * Set in a descriptor's rcode byte, in signed tables only: a denial (RFC 4035 3.1.3). The body holds the
 * answer records (a CNAME chain, or none) then `ar` authority records (the NSEC at the name and its RRSIGs),
 * and the negative's SOA with its RRSIGs follows; no additional section. The rcode nibble says NXDOMAIN
 * for a name that does not exist, answered so only to a query with the CO flag (RFC 9824 3.5), NOERROR
 * otherwise.
 */
export const DENIAL = 0x10
const SLOT = 8
/** Header byte 2's AA bit: set on every answer from our zones. */
export const AA = 0x04
export const RCODE_NOERROR = 0
export const RCODE_NXDOMAIN = 3
const EMPTY = Buffer.alloc(0)

export function compiled(
  rcode: number, an: number, ar: number, body: Buffer, answerBytes: number, negative: ZoneNegative | null,
  rotations: readonly Buffer[] | null = null, ns = 0,
): Compiled {
  return { rcode: ns > 0 ? rcode | WITH_AUTHORITY : rcode, an, ar, body, answerBytes, negative: ns > 0 ? null : negative, rotations, ns }
}

/** A signed denial (DENIAL): `an` answer records, then `ns` authority records, in `body`. */
export function denial(rcode: number, an: number, ns: number, body: Buffer, negative: ZoneNegative): Compiled {
  return { rcode: rcode | DENIAL, an, ar: ns, body, answerBytes: body.length, negative, rotations: null, ns: 0 }
}

export function negativeAnswer(rcode: number, negative: ZoneNegative): Compiled {
  return compiled(rcode, 0, 0, EMPTY, 0, negative)
}

/** Packs a name's answers into its entry; an answer given for several qtypes (ANY and A) is stored once. */
export function packEntry(byType: ReadonlyMap<number, Compiled>, others: Compiled, below = BELOW_NXDOMAIN): NameEntry {
  const answers: [number, Compiled][] = [...byType, [0, others]]
  const bodiesOf = (c: Compiled): readonly Buffer[] => c.rotations ?? (c.body.length === 0 ? [] : [c.body])
  const distinct = [...new Set(answers.map(([, c]) => c))]
  let size = 1 + answers.length * DESC
  for (const c of distinct) for (const b of bodiesOf(c)) size += SLOT + b.length
  const out = Buffer.alloc(size) // copied into the name table's arena
  out[0] = answers.length - 1
  // Body slots and bytes after the descriptors, once per distinct answer.
  const slotsAt = new Map<Compiled, number>()
  let p = 1 + answers.length * DESC
  for (const c of distinct) {
    const bodies = bodiesOf(c)
    slotsAt.set(c, p)
    let bytesAt = p + bodies.length * SLOT
    for (const b of bodies) {
      out.writeUInt32BE(bytesAt, p)
      out.writeUInt32BE(b.length, p + 4)
      b.copy(out, bytesAt)
      bytesAt += b.length
      p += SLOT
    }
    p = bytesAt
  }
  answers.forEach(([qtype, c], i) => {
    const d = 1 + i * DESC
    out.writeUInt16BE(qtype, d)
    out[d + 2] = c.rcode
    out[d + 3] = bodiesOf(c).length
    out.writeUInt16BE(c.an, d + 4)
    out.writeUInt16BE(c.ar, d + 6)
    out.writeUInt16BE(c.ns > 0 ? c.ns : c.negative === null ? 0 : c.negative.index + 1, d + 8)
    out.writeUInt32BE(slotsAt.get(c) as number, d + 12)
    out.writeUInt32BE(c.answerBytes, d + 16)
  })
  out.writeUInt16BE(below, 1 + (answers.length - 1) * DESC + 10)
  return out
}

/** What changed in a table since the last `publish()`: for replicas in worker threads. */
export interface TableChanges {
  cleared: boolean
  readonly names: Map<string, NameEntry | null>
  readonly apexes: Map<string, NameEntry | null>
  readonly wildcards: Map<string, NameEntry | null>
  readonly chase: Map<string, NameEntry | null>
  readonly negatives: Set<ZoneNegative>
}

export class AnswerTable {
  /** lowercase wire name → its entry. */
  readonly names = new NameTable()
  /** lowercase wire apex → the entry (only "others": NXDOMAIN) for names below it that do not exist. */
  readonly apexes = new NameTable()
  /**
   * lowercase wire name P → the entry for names below P that do not exist: synthesised from `*.P` (RFC 4592),
   * or the referral of the zone cut P is at or below. Compiled with the owner as a pointer to the question and
   * every other name in full, so it fits whatever name was asked.
   */
  readonly wildcards = new NameTable()
  /**
   * lowercase wire name → its answers with every owner in full, for the names below a DNAME's target in our
   * zones: a DNAME's synthesised CNAME is followed into them (RFC 6672 3.2), after the DNAME and the CNAME.
   */
  readonly chase = new NameTable()
  /** Every zone's negative-answer SOA, by the index entries hold. */
  readonly negatives: ZoneNegative[] = []
  /**
   * The same zones' answers with DNSSEC records (a query with DO), when the zones are signed; null when not.
   * A signed table's names that need a signature made for the name asked (a name that does not exist, a
   * wildcard's expansion, a DNAME's) are answered off the hot path (dns/online-sign.ts).
   */
  signed: AnswerTable | null = null
  /** This is a signed table. */
  readonly online: boolean

  constructor(online = false) { this.online = online }
  /** Receives the changes of each store batch; set when worker threads hold replicas. */
  listener: ((changes: TableChanges) => void) | null = null
  #pending: TableChanges | null = null

  #changes(): TableChanges | null {
    if (this.listener === null) return null
    this.#pending ??= { cleared: false, names: new Map(), apexes: new Map(), wildcards: new Map(), chase: new Map(), negatives: new Set() }
    return this.#pending
  }

  /** A holder for a new zone's negative SOA (empty until the zone's first serial). */
  addNegative(key: string): ZoneNegative {
    const neg: ZoneNegative = { key, index: this.negatives.length, soa: EMPTY, count: 1 }
    this.negatives.push(neg)
    return neg
  }

  setName(wire: string, entry: NameEntry): void { this.names.set(wire, entry); this.#changes()?.names.set(wire, entry) }
  deleteName(wire: string): void { this.names.delete(wire); this.#changes()?.names.set(wire, null) }
  setApex(wire: string, entry: NameEntry): void { this.apexes.set(wire, entry); this.#changes()?.apexes.set(wire, entry) }
  setWildcard(wire: string, entry: NameEntry): void { this.wildcards.set(wire, entry); this.#changes()?.wildcards.set(wire, entry) }
  deleteWildcard(wire: string): void { this.wildcards.delete(wire); this.#changes()?.wildcards.set(wire, null) }
  setChase(wire: string, entry: NameEntry): void { this.chase.set(wire, entry); this.#changes()?.chase.set(wire, entry) }
  deleteChase(wire: string): void { this.chase.delete(wire); this.#changes()?.chase.set(wire, null) }
  negativeChanged(neg: ZoneNegative): void { this.#changes()?.negatives.add(neg) }

  clear(): void {
    this.names.clear()
    this.apexes.clear()
    this.wildcards.clear()
    this.chase.clear()
    const c = this.#changes()
    if (c !== null) { c.cleared = true; c.names.clear(); c.apexes.clear(); c.wildcards.clear(); c.chase.clear() }
  }

  /** Hands the changes collected since the last call to the listener. */
  publish(): void {
    const c = this.#pending
    this.#pending = null
    if (c !== null && this.listener !== null) this.listener(c)
  }

  /** Everything, as one change set: how a new replica starts. */
  snapshot(): TableChanges {
    // Copies, not views: a view would carry the whole arena (allocated ahead) into the worker's message.
    const copy = (table: NameTable): Map<string, NameEntry> => new Map([...table.entries()].map(([k, v]) => [k, new Uint8Array(v)]))
    return { cleared: true, names: copy(this.names), apexes: copy(this.apexes), wildcards: copy(this.wildcards), chase: copy(this.chase), negatives: new Set(this.negatives) }
  }
}

