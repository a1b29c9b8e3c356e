/**
 * @module zone/target
 * One compiled form of the store's zones: an answer table, and for each zone its shared negative answers
 * (NODATA, NXDOMAIN) and the negative SOA they carry. The store keeps the records and decides which names to
 * recompile; a target turns a name into its entries. There are two: the plain answers, and, when the zones
 * are signed, the answers a query with DO gets, carrying the RRSIGs and NSECs its signer makes (zone/signer.ts).
 */
import { compileInto, encodeNegativeSoa } from './compile.ts'
import type { NameAnswers, StoreView, ZoneInfo } from './compile.ts'
import { wireKey } from './name.ts'
import type { ZoneSigner } from './signer.ts'
import { AnswerTable, negativeAnswer, packEntry, RCODE_NOERROR, RCODE_NXDOMAIN } from './table.ts'
import type { NameEntry } from './table.ts'
import type { Name, Rec } from './types.ts'
import { WireWriter } from './writer.ts'

export interface TargetZone extends ZoneInfo {
  /** The entry for names below the apex that do not exist. */
  readonly nxdomainEntry: NameEntry
  readonly signing: { readonly sign: (rrset: readonly Rec[], ttl: number) => readonly Rec[]; nsecTtl: number } | null
}

export class CompileTarget {
  readonly table: AnswerTable
  readonly #zones = new Map<Name, TargetZone>()
  readonly #signer: ZoneSigner | null
  /** The store's view with this target's zones, made once per view. */
  #view: { readonly of: StoreView; readonly mine: StoreView } | null = null

  constructor(signer: ZoneSigner | null = null) {
    this.#signer = signer
    this.table = new AnswerTable(signer !== null)
  }

  /** A zone appeared: the holder of its negative SOA (filled at its first serial) and its shared negative answers. */
  addZone(apex: Name): TargetZone {
    const negative = this.table.addNegative(wireKey(apex))
    const nxdomain = negativeAnswer(RCODE_NXDOMAIN, negative)
    const signer = this.#signer
    const signing = signer === null ? null : { sign: (rrset: readonly Rec[], ttl: number) => signer.sign(apex, rrset, ttl), nsecTtl: 0 }
    const zone: TargetZone = { apex, negative, nodata: negativeAnswer(RCODE_NOERROR, negative), nxdomain, nxdomainEntry: packEntry(new Map(), nxdomain), signing }
    this.#zones.set(apex, zone)
    return zone
  }

  removeZone(apex: Name): void { this.#zones.delete(apex) }

  zone(apex: Name): TargetZone | undefined { return this.#zones.get(apex) }

  /**
   * The zone's SOA as served now (a serial bump swaps this one buffer, no name's entry), and its apex entry.
   * Returns true when the zone's denials must be compiled again (their NSEC's TTL, the negative TTL, changed).
   */
  served(apex: Name, soa: Rec): boolean {
    const zone = this.#zones.get(apex)
    if (zone === undefined) return false
    const negativeTtl = soa.data.type === 'SOA' ? Math.min(soa.ttl, soa.data.minimum) : 0
    zone.negative.soa = encodeNegativeSoa(soa)
    let stale = false
    if (zone.signing !== null) {
      // The SOA's RRSIGs after it (signed over its own TTL, served with the negative one: RFC 4035 3.1.3).
      const sigs = zone.signing.sign([soa], soa.ttl)
      const w = new WireWriter(0, null)
      for (const sig of sigs) w.record(sig, negativeTtl, null)
      zone.negative.soa = Buffer.concat([zone.negative.soa, w.finish()])
      zone.negative.count = 1 + sigs.length
      stale = zone.signing.nsecTtl !== negativeTtl
      zone.signing.nsecTtl = negativeTtl
    }
    this.table.negativeChanged(zone.negative)
    const apexKey = wireKey(apex)
    if (!this.table.apexes.has(apexKey)) this.table.setApex(apexKey, zone.nxdomainEntry) // never changes
    return stale
  }

  /** Drops what the table holds for `name` (its entry, and what names below it or a DNAME's chase get). */
  forget(name: Name): void {
    const wire = wireKey(name)
    if (this.table.names.has(wire)) this.table.deleteName(wire)
    if (this.table.wildcards.has(wire)) this.table.deleteWildcard(wire)
    if (this.table.chase.has(wire)) this.table.deleteChase(wire)
  }

  /** Compiles `name` into the table, reading the store through `view` with this target's zones. */
  compile(name: Name, view: StoreView, read: (name: Name) => void): NameAnswers | null {
    if (this.#view?.of !== view) {
      this.#view = { of: view, mine: { ...view, zoneOf: (n) => { const apex = view.zoneOf(n)?.apex; return apex === undefined ? null : this.#zones.get(apex) ?? null } } }
    }
    return compileInto(this.table, name, this.#view.mine, read)
  }
}
