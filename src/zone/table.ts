/**
 * @module zone/table
 * The compiled form the hot path reads: wire-format answers per (name, qtype), prepared when the zone
 * changes. A published entry is never edited; a change swaps in a new one, so a Buffer handed to a socket
 * stays valid however long the kernel holds on to it.
 */

/** The zone's negative-answer SOA record (RFC 2308 3), owner written in full. Swapped on every serial bump. */
export interface ZoneNegative {
  /** The zone's wire apex: names the holder across threads (replicas re-link to their own). */
  readonly key: string
  soa: Buffer
}

/**
 * One prepared answer. Every answered name holds one or more, so it is kept small (80 B): the AA flag is
 * the same for all and NSCOUNT follows from `negative`, so neither is stored.
 */
export interface Compiled {
  readonly rcode: number
  readonly an: number
  readonly ar: number
  /** Answer (and additional) records after the question; names compressed against the question at offset 12. */
  readonly body: Buffer
  /** `body` without the additional section, for when the whole answer does not fit (RFC 2181 9). */
  readonly bodyNoAdditional: Buffer
  /** Set on negative answers: its SOA goes into the authority section (NSCOUNT 1). */
  readonly negative: ZoneNegative | null
  /** For an answered RRset of several records: `body` with the set rotated by 1, 2, ... (round-robin). */
  readonly rotations: readonly Buffer[] | null
}

/** Header byte 2's AA bit: set on every answer from our zones. */
export const AA = 0x04
export const RCODE_NOERROR = 0
export const RCODE_NXDOMAIN = 3
const EMPTY = Buffer.alloc(0)

/** Every Compiled comes from here, so all have one shape (one hidden class for the hot path). */
export function compiled(
  rcode: number, an: number, ar: number, body: Buffer, answerBytes: number, negative: ZoneNegative | null,
  rotations: readonly Buffer[] | null = null,
): Compiled {
  return {
    rcode,
    an,
    ar,
    body,
    bodyNoAdditional: ar === 0 ? body : body.subarray(0, answerBytes),
    negative,
    rotations,
  }
}

export function negativeAnswer(rcode: number, negative: ZoneNegative): Compiled {
  return compiled(rcode, 0, 0, EMPTY, 0, negative)
}

/**
 * Everything one existing name (or empty non-terminal) answers, as one flat array:
 * `[qtype, answer, qtype, answer, ..., others]`, where `others` answers every qtype not listed (NODATA, or
 * the CNAME chain). One array per name, keyed by the wire name alone: at 100k names an object with separate
 * qtype and answer arrays cost ~100 B per name more, and keys per (name, qtype) more than the answers.
 * Never edited: a recompile swaps in a new entry.
 */
export type NameEntry = readonly (number | Compiled)[]

export function nameEntry(byType: ReadonlyMap<number, Compiled>, others: Compiled): NameEntry {
  const entry: (number | Compiled)[] = []
  for (const [qtype, answer] of byType) entry.push(qtype, answer)
  entry.push(others)
  return entry.slice() // packed and sized exactly: push() leaves room for 16 more
}

/** The answer `entry` gives for `qtype`: the hot path's loop, for everyone else. */
export function entryAnswer(entry: NameEntry, qtype: number): Compiled {
  const last = entry.length - 1
  for (let i = 0; i < last; i += 2) if (entry[i] === qtype) return entry[i + 1] as Compiled
  return entry[last] as Compiled
}

/** Every answer of `entry`, each once, `others` last. */
export function entryAnswers(entry: NameEntry): Compiled[] {
  const out: Compiled[] = []
  for (let i = 1; i < entry.length; i += 2) out.push(entry[i] as Compiled)
  out.push(entry[entry.length - 1] as Compiled)
  return [...new Set(out)]
}

/** What changed in a table since the last `publish()`: for replicas in worker threads. */
export interface TableChanges {
  cleared: boolean
  readonly names: Map<string, NameEntry | null>
  readonly apexes: Map<string, Compiled | null>
  readonly negatives: Set<ZoneNegative>
}

export class AnswerTable {
  /** lowercase wire name → its answers. */
  readonly names = new Map<string, NameEntry>()
  /** lowercase wire apex → NXDOMAIN answer for names below it that do not exist. */
  readonly apexes = new Map<string, Compiled>()
  /** Receives the changes of each store batch; set when worker threads hold replicas. */
  listener: ((changes: TableChanges) => void) | null = null
  #pending: TableChanges | null = null

  #changes(): TableChanges | null {
    if (this.listener === null) return null
    this.#pending ??= { cleared: false, names: new Map(), apexes: new Map(), negatives: new Set() }
    return this.#pending
  }

  setName(wire: string, entry: NameEntry): void { this.names.set(wire, entry); this.#changes()?.names.set(wire, entry) }
  deleteName(wire: string): void { this.names.delete(wire); this.#changes()?.names.set(wire, null) }
  setApex(wire: string, c: Compiled): void { this.apexes.set(wire, c); this.#changes()?.apexes.set(wire, c) }
  negativeChanged(neg: ZoneNegative): void { this.#changes()?.negatives.add(neg) }

  clear(): void {
    this.names.clear()
    this.apexes.clear()
    const c = this.#changes()
    if (c !== null) { c.cleared = true; c.names.clear(); c.apexes.clear() }
  }

  /** Hands the changes collected since the last call to the listener. */
  publish(): void {
    const c = this.#pending
    this.#pending = null
    if (c !== null && this.listener !== null) this.listener(c)
  }

  /** Everything, as one change set: how a new replica starts. */
  snapshot(): TableChanges {
    const negatives = new Set<ZoneNegative>()
    const note = (c: Compiled): void => { if (c.negative !== null) negatives.add(c.negative) }
    for (const e of this.names.values()) entryAnswers(e).forEach(note)
    for (const c of this.apexes.values()) note(c)
    return { cleared: true, names: new Map(this.names), apexes: new Map(this.apexes), negatives }
  }
}
