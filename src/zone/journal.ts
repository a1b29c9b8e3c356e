/**
 * @module zone/journal
 * A zone's IXFR journal (RFC 1995): per serial change, the served records it removed and added, oldest
 * first and bounded, filled while a store batch runs and closed when the batch ends; and the serial policy:
 * which serial a zone serves after a batch, and the arithmetic it bumps by.
 */
import { rrsetTtl } from './compile.ts'
import type { Rec, TypeName } from './types.ts'

/** One serial change of a zone: the served records (SOA aside) it removed and added. */
export interface JournalEntry {
  readonly from: number
  readonly to: number
  readonly removed: readonly Rec[]
  readonly added: readonly Rec[]
}

/** Journal entries bigger than this are not kept: the zone's journal restarts and IXFR falls back to AXFR. */
const MAX_JOURNAL_CHANGE = 10_000

export class ZoneJournal {
  /** Oldest first, at most `size`. */
  entries: JournalEntry[] = []
  #removed: Rec[] = []
  #added: Rec[] = []
  readonly #size: number

  constructor(size: number) { this.#size = size }

  /** Whether the batch being applied changed any served record. */
  get changed(): boolean { return this.#removed.length + this.#added.length > 0 }

  /** Notes what one owner's served records (SOA aside) lost and gained in the batch being applied. */
  note(before: ReadonlyMap<TypeName, readonly Rec[]> | undefined, after: ReadonlyMap<TypeName, readonly Rec[]> | undefined): void {
    const was = served(before)
    const now = served(after)
    const id = (r: Rec): string => `${r.ttl} ${JSON.stringify(r.data)}`
    const wasIds = new Set(was.map(id))
    const nowIds = new Set(now.map(id))
    for (const r of was) if (!nowIds.has(id(r))) this.#removed.push(r)
    for (const r of now) if (!wasIds.has(id(r))) this.#added.push(r)
  }

  /**
   * Ends the batch for its zone, the serial policy: a zone just loaded serves the serial its source wrote (not
   * a bump: a differential against knotd saw +1 here); a zone whose served records or SOA changed takes the
   * time-based next serial, or its source's own when the source raised it past ours (a reload). Returns the
   * serial to serve, and whether the zone changed (secondaries are notified of it).
   */
  close(zone: { readonly serial: number; readonly fresh: boolean; readonly soaChanged: boolean; readonly sourceSerial: number }, now: () => number): { serial: number; changed: boolean } {
    if (zone.fresh) {
      this.drop()
      return { serial: zone.serial, changed: true }
    }
    if (!this.changed && !zone.soaChanged) {
      this.drop()
      return { serial: zone.serial, changed: false }
    }
    const serial = zone.soaChanged && serialAfter(zone.sourceSerial, zone.serial) ? zone.sourceSerial >>> 0 : nextSerial(zone.serial, now())
    this.commit(zone.serial, serial)
    return { serial, changed: true }
  }

  /** Closes the batch as the change from serial `from` to `to`. */
  commit(from: number, to: number): void {
    const removed = this.#removed
    const added = this.#added
    this.#removed = []
    this.#added = []
    if (removed.length + added.length > MAX_JOURNAL_CHANGE) {
      this.entries = [] // a change this big (a first sync) is cheaper to send as AXFR than to remember
      return
    }
    this.entries.push({ from, to, removed, added })
    if (this.entries.length > this.#size) this.entries.splice(0, this.entries.length - this.#size)
  }

  /** Forgets the batch without a serial change (nothing served changed). */
  drop(): void { this.#removed = []; this.#added = [] }

  /** Forgets everything: no journal reaches across a change of zones. */
  clear(): void { this.entries = []; this.drop() }
}

/** The records an owner serves, SOA aside, TTLs as answered (one per RRset). */
export function served(sets: ReadonlyMap<TypeName, readonly Rec[]> | undefined): Rec[] {
  if (sets === undefined) return []
  const out: Rec[] = []
  for (const [type, recs] of sets) {
    if (type === 'SOA') continue
    const ttl = rrsetTtl(recs)
    for (const r of recs) out.push(r.ttl === ttl ? r : { name: r.name, ttl, data: r.data })
  }
  return out
}

/** RFC 1982: whether serial `a` comes after `b`. */
export function serialAfter(a: number, b: number): boolean {
  const d = ((a >>> 0) - (b >>> 0) + 0x1_0000_0000) % 0x1_0000_0000
  return d !== 0 && d < 0x8000_0000
}

/** Time-based and strictly increasing (RFC 1982 arithmetic is left to the secondaries' side). */
export function nextSerial(previous: number, now: number): number {
  return Math.max(now, previous + 1) >>> 0
}
