/**
 * @module zone/target
 * One compiled form of the store's zones: an answer table, and for each zone its shared negative answers
 * (NODATA, NXDOMAIN) and the negative SOA they carry. The store keeps the records and decides which names to
 * recompile; a target turns a name into its entries. There is one today, the plain answers; a second (answers
 * carrying DNSSEC signatures) compiles the same names into a table of its own.
 */
import { compileInto, encodeNegativeSoa } from './compile.ts'
import type { NameAnswers, StoreView, ZoneInfo } from './compile.ts'
import { wireKey } from './name.ts'
import { AnswerTable, negativeAnswer, packEntry, RCODE_NOERROR, RCODE_NXDOMAIN } from './table.ts'
import type { NameEntry } from './table.ts'
import type { Name, Rec } from './types.ts'

export interface TargetZone extends ZoneInfo {
  /** The entry for names below the apex that do not exist. */
  readonly nxdomainEntry: NameEntry
}

export class CompileTarget {
  readonly table = new AnswerTable()
  readonly #zones = new Map<Name, TargetZone>()
  /** The store's view with this target's zones, made once per view. */
  #view: { readonly of: StoreView; readonly mine: StoreView } | null = null

  /** A zone appeared: the holder of its negative SOA (filled at its first serial) and its shared negative answers. */
  addZone(apex: Name): TargetZone {
    const negative = this.table.addNegative(wireKey(apex))
    const nxdomain = negativeAnswer(RCODE_NXDOMAIN, negative)
    const zone: TargetZone = { apex, negative, nodata: negativeAnswer(RCODE_NOERROR, negative), nxdomain, nxdomainEntry: packEntry(new Map(), nxdomain) }
    this.#zones.set(apex, zone)
    return zone
  }

  removeZone(apex: Name): void { this.#zones.delete(apex) }

  zone(apex: Name): TargetZone | undefined { return this.#zones.get(apex) }

  /** The zone's SOA as served now (a serial bump swaps this one buffer, no name's entry), and its apex entry. */
  served(apex: Name, soa: Rec): void {
    const zone = this.#zones.get(apex)
    if (zone === undefined) return
    zone.negative.soa = encodeNegativeSoa(soa)
    this.table.negativeChanged(zone.negative)
    const apexKey = wireKey(apex)
    if (!this.table.apexes.has(apexKey)) this.table.setApex(apexKey, zone.nxdomainEntry) // never changes
  }

  /** Compiles `name` into the table, reading the store through `view` with this target's zones. */
  compile(name: Name, view: StoreView, read: (name: Name) => void): NameAnswers | null {
    if (this.#view?.of !== view) {
      this.#view = { of: view, mine: { ...view, zoneOf: (n) => { const apex = view.zoneOf(n)?.apex; return apex === undefined ? null : this.#zones.get(apex) ?? null } } }
    }
    return compileInto(this.table, name, this.#view.mine, read)
  }
}
