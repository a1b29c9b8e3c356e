/**
 * @module zone/store
 * The single source of truth: the records every source publishes, by owner name, and the answer table
 * compiled from them. A change recompiles only the owners it affects (the name itself, its empty
 * non-terminal ancestors, and owners whose CNAME chain or additional section read it), once per batch:
 * compile.ts files each name's answers, and each zone's journal (journal.ts) says which serial it serves next.
 */
import { ZoneDataError } from '../errors.ts'
import { checkOwnerRecords } from './check.ts'
import { dnameTarget, wildcardParent } from './adjust.ts'
import { QTYPE_ANY } from './compile.ts'
import type { StoreView } from './compile.ts'
import { served, ZoneJournal } from './journal.ts'
import type { JournalEntry } from './journal.ts'
import { canonicalName, isAtOrBelow, parentName } from './name.ts'
import { PARTIAL } from './table.ts'
import type { AnswerTable } from './table.ts'
import type { ZoneSigner } from './signer.ts'
import { Targets } from './targets.ts'
import { DnameTargets, Readers } from './depends.ts'
import { hasRecords, merged } from './precedence.ts'
import type { Owner } from './precedence.ts'
import { SOURCE_PRECEDENCE, typeName } from './types.ts'
import type { ShadowListener, ZoneWriter } from './zone-writer.ts'
import type { Name, Rec, SoaData, SourceId, TypeName } from './types.ts'

interface Zone {
  readonly apex: Name
  serial: number
  /** Differences per serial change, for IXFR; bounded by `journalSize`. */
  readonly journal: ZoneJournal
  /** Added in the batch being applied: it serves the serial its source wrote until its content changes. */
  fresh: boolean
  /** The source's SOA as last seen, to tell a reload that changed it (a new serial, say) from one that did not. */
  soaKey: string
}

export type { JournalEntry }

export interface ZoneStoreOptions {
  /** Seconds since the epoch; serials are time-based so they grow across restarts too. */
  readonly now?: () => number
  readonly onShadow?: ShadowListener
  /** Called once per batch for each zone whose serial changed. */
  readonly onZoneChanged?: (apex: Name, serial: number) => void
  /** Called after a batch in which a zone appeared or went (never inside the batch). */
  readonly onZonesChanged?: () => void
  /** Serial changes kept per zone for IXFR; older ones make a secondary fall back to AXFR. */
  readonly journalSize?: number
  /** Called once per name and type whose RRset is too big for any message (the records that fit are answered, TC set). */
  readonly onOversize?: (name: Name, type: TypeName, kept: number, total: number) => void
  /** Signs the zones: a second table, `table.signed`, answers queries with DO (zone/signer.ts). */
  readonly signer?: ZoneSigner
}

export class ZoneStore implements ZoneWriter {
  /** The answers (targets.ts): the plain ones every query without DO gets, and with a signer the signed ones. */
  readonly #targets: Targets
  readonly table: AnswerTable
  readonly #signer: ZoneSigner | null
  readonly #owners = new Map<Name, Owner>()
  readonly #zones = new Map<Name, Zone>()
  /** Number of names with records strictly below each name: > 0 makes an empty non-terminal exist. */
  readonly #below = new Map<Name, number>()
  /** Which owners' compiled answers read which names, and the DNAME targets: what else a change recompiles. */
  readonly #readers = new Readers()
  readonly #dnameTargets = new DnameTargets()
  readonly #dirty = new Set<Name>()
  readonly #touchedZones = new Set<Zone>()
  #zonesChanged = false
  #depth = 0
  readonly #now: () => number
  readonly #o: ZoneStoreOptions
  /** `name type` of the RRsets already said to be too big for a message. */
  readonly #oversize = new Set<string>()
  /** What compiling a name reads of the store: effective records, the apex's SOA with the served serial. */
  readonly #view: StoreView = {
    zoneOf: (n) => { const z = this.#zoneFor(n); return z === null ? null : this.#targets.zone(z.apex) ?? null },
    rrsets: (n) => {
      const sets = this.rrsets(n) // a fresh Map: free to change
      const zone = this.#zones.get(n)
      return sets === undefined || zone === undefined ? sets : sets.set('SOA', [this.#soaOf(zone)])
    },
    exists: (n) => this.exists(n),
    cutOf: (n) => this.cutOf(n),
    belowDnameTarget: (n) => this.#dnameTargets.below(n),
  }

  constructor(options: ZoneStoreOptions = {}) {
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000))
    this.#o = options
    this.#signer = options.signer ?? null
    this.#targets = new Targets(this.#signer, () => this.#view)
    this.table = this.#targets.table
  }

  /** Names whose signed answers are still to be made (in slices); 0 unsigned. */
  get signingPending(): number { return this.#targets.signingPending }

  /** Signs every pending name now (tests, benchmarks). */
  settleSigning(): void { this.#targets.settleSigning() }

  // ---- ZoneWriter ----

  setOwner(source: SourceId, name: Name, recs: readonly Rec[]): void {
    const owner = canonicalName(name)
    const clean = checkOwnerRecords(owner, recs)
    const isApex = clean.some((r) => r.data.type === 'SOA')
    if (!isApex && clean.length > 0 && this.#zoneFor(owner) === null) {
      throw new ZoneDataError(`${owner} is in no zone we serve; add a zone file for its domain`)
    }
    this.batch(() => {
      let entry = this.#owners.get(owner)
      const before = entry === undefined ? undefined : merged(entry)
      if (clean.length === 0) {
        if (entry === undefined || entry[source] === null) return
        entry[source] = null
      } else {
        if (entry === undefined) { entry = { file: null, catalog: null, update: null, incus: null }; this.#owners.set(owner, entry) }
        entry[source] = clean
      }
      this.#ownerChanged(owner, before, entry)
    })
  }

  removeOwner(source: SourceId, name: Name): void {
    this.setOwner(source, name, [])
  }

  batch(apply: () => void): void {
    this.#depth++
    try {
      apply()
    } finally {
      if (--this.#depth === 0) this.#flush()
    }
  }

  zoneOf(name: Name): Name | null {
    return this.#zoneFor(name)?.apex ?? null
  }

  recordsOf(source: SourceId, name: Name): readonly Rec[] | null {
    return this.#owners.get(name)?.[source] ?? null
  }

  namesOf(source: SourceId): Name[] {
    const out: Name[] = []
    for (const [name, o] of this.#owners) if (o[source] !== null) out.push(name)
    return out
  }

  // ---- reading ----

  /** Every zone apex we serve. */
  zones(): Name[] {
    return [...this.#zones.keys()]
  }

  /** How many names with records each zone holds (for /metrics and the status page). */
  namesPerZone(): Map<Name, number> {
    const counts = new Map<Name, number>()
    for (const name of this.names()) {
      const zone = this.#zoneFor(name)?.apex
      if (zone !== undefined) counts.set(zone, (counts.get(zone) ?? 0) + 1)
    }
    return counts
  }

  /** The serial currently served for the zone at `apex`. */
  serial(apex: Name): number | undefined {
    return this.#zones.get(apex)?.serial
  }

  /** The effective records at `name` (after precedence), SOA with the served serial. */
  records(name: Name): Rec[] {
    const owner = canonicalName(name)
    const sets = this.rrsets(owner)
    if (sets === undefined) return []
    const zone = this.#zones.get(owner)
    return [...sets.values()].flat().map((r) => (r.data.type === 'SOA' && zone !== undefined ? this.#soaOf(zone) : r))
  }

  /** All names with records, for dumps and transfers. */
  names(): Name[] {
    const out: Name[] = []
    for (const [name, o] of this.#owners) if (hasRecords(o)) out.push(name)
    return out
  }

  /** What each source publishes at `name`, before precedence. */
  published(name: Name): ReadonlyMap<SourceId, readonly Rec[]> {
    const o = this.#owners.get(canonicalName(name))
    const out = new Map<SourceId, readonly Rec[]>()
    for (const source of SOURCE_PRECEDENCE) { const recs = o?.[source]; if (recs) out.set(source, recs) }
    return out
  }

  // ---- what the compiler reads ----

  /** The effective RRsets at `name`; at a signed zone's apex, with the signer's DNSKEY, CDS and CDNSKEY. */
  rrsets(name: Name): Map<TypeName, readonly Rec[]> | undefined {
    const o = this.#owners.get(name)
    const sets = o === undefined ? undefined : merged(o)
    if (sets === undefined || this.#signer === null || !this.#zones.has(name)) return sets
    for (const rec of this.#signer.apexRecords(name)) {
      const set = sets.get(rec.data.type)
      if (set === undefined) sets.set(rec.data.type, [rec])
      else if (set[0]?.name === rec.name && !set.includes(rec)) sets.set(rec.data.type, [...set, rec])
    }
    return sets
  }

  #hasRecords(name: Name): boolean {
    const o = this.#owners.get(name)
    return o !== undefined && hasRecords(o)
  }

  exists(name: Name): boolean {
    return this.#hasRecords(name) || (this.#below.get(name) ?? 0) > 0
  }

  #zoneFor(name: Name): Zone | null {
    for (let n: Name | null = name; n !== null; n = parentName(n)) {
      const zone = this.#zones.get(n)
      if (zone !== undefined) return zone
    }
    return null
  }

  // ---- bookkeeping ----

  /** After a source changed at `name`: zone appearing or going, ancestors' existence, what to recompile. */
  #ownerChanged(name: Name, before: ReadonlyMap<TypeName, readonly Rec[]> | undefined, entry: Owner): void {
    const after = merged(entry, (type, winner, loser) => this.#o.onShadow?.(name, type, winner, loser))
    this.#journalChange(name, before, after)
    if (after === undefined) this.#owners.delete(name)
    const wasApex = before?.has('SOA') ?? false
    const isApex = after?.has('SOA') ?? false

    if (isApex !== wasApex) {
      if (isApex) this.#addZone(name, after?.get('SOA')?.[0] as Rec)
      else { this.#zones.delete(name); this.#targets.removeZone(name) }
      this.#zonesChanged = true
    }
    if ((before === undefined) !== (after === undefined)) this.#countBelow(name, after === undefined ? -1 : 1)
    this.#markChanged(name)
    // NS below an apex is a zone cut: everything at and below it answers differently when it comes or goes.
    const nsBefore = wasApex ? undefined : before?.get('NS')
    const nsAfter = isApex ? undefined : after?.get('NS')
    if ((nsBefore === undefined) !== (nsAfter === undefined)) this.#markSubtree(name)
    // A DNAME's target: the names below it answer a DNAME's chase too (RFC 6672 3.2), so follow its moves.
    const targetBefore = before?.get('DNAME')?.[0]
    const targetAfter = after?.get('DNAME')?.[0]
    const tb = targetBefore?.data.type === 'DNAME' ? dnameTarget(targetBefore.data.hex) : null
    const ta = targetAfter?.data.type === 'DNAME' ? dnameTarget(targetAfter.data.hex) : null
    if (tb !== ta) {
      this.#dnameTargets.move(tb, ta)
      if (tb !== null) this.#markSubtree(tb)
      if (ta !== null) this.#markSubtree(ta)
    }
  }

  /**
   * Recompiles every name at or below `top` (a zone cut appeared or went: rare, so a scan will do), and the
   * owners that read one of them: a CNAME whose target falls under the cut now ends in its referral.
   */
  #markSubtree(top: Name): void {
    for (const n of this.#owners.keys()) if (isAtOrBelow(n, top)) this.#dirty.add(n)
    for (const n of this.#below.keys()) if (isAtOrBelow(n, top)) this.#dirty.add(n)
    for (const n of this.#readers.under(top)) this.#dirty.add(n)
  }

  /** The topmost non-apex name at or above `name`, inside its zone, that has NS: the zone cut, or null. */
  cutOf(name: Name): Name | null {
    let cut: Name | null = null
    for (let n: Name | null = name; n !== null && !this.#zones.has(n); n = parentName(n)) {
      const o = this.#owners.get(n) // read without merging: this runs for every name compiled
      if (o !== undefined && (o.file ?? o.catalog ?? o.update ?? o.incus ?? []).some((r) => r.data.type === 'NS')) cut = n
    }
    return cut
  }

  /** Notes the served records `name` lost and gained, in its zone's pending journal entry. */
  #journalChange(name: Name, before: ReadonlyMap<TypeName, readonly Rec[]> | undefined, after: ReadonlyMap<TypeName, readonly Rec[]> | undefined): void {
    this.#zoneFor(name)?.journal.note(before, after)
  }

  #addZone(apex: Name, soaRec: Rec): void {
    const soa = soaRec.data as SoaData
    this.#targets.addZone(apex)
    const zone: Zone = {
      apex,
      serial: soa.serial >>> 0,
      journal: new ZoneJournal(this.#o.journalSize ?? 100),
      fresh: true,
      soaKey: JSON.stringify(soa),
    }
    this.#zones.set(apex, zone)
    this.#touchedZones.add(zone)
  }

  /** Adjusts the count of names below each ancestor; an ancestor that starts or stops existing changes too. */
  #countBelow(name: Name, delta: number): void {
    for (let a = parentName(name); a !== null; a = parentName(a)) {
      const count = (this.#below.get(a) ?? 0) + delta
      if (count === 0) this.#below.delete(a)
      else this.#below.set(a, count)
      if (!this.#hasRecords(a) && (count === 0 || count === delta)) this.#markChanged(a)
      const zone = this.#zones.get(a)
      if (zone !== undefined) this.#touchedZones.add(zone)
    }
  }

  #markChanged(name: Name): void {
    this.#dirty.add(name)
    // A wildcard appearing or going changes what its parent's entry says of the names below it.
    const parent = wildcardParent(name)
    if (parent !== null) this.#dirty.add(parent)
    const readers = this.#readers.of(name)
    if (readers !== undefined) for (const r of readers) this.#dirty.add(r)
    const zone = this.#zoneFor(name)
    if (zone !== null) this.#touchedZones.add(zone)
  }

  #flush(): void {
    const zonesChanged = this.#zonesChanged
    if (zonesChanged) {
      // A zone appeared or went: which zone holds a name may have changed anywhere, so rebuild it all.
      this.#zonesChanged = false
      this.#targets.clear()
      for (const name of this.#owners.keys()) this.#dirty.add(name)
      for (const name of this.#below.keys()) this.#dirty.add(name)
      // No journal reaches across a change of zones: secondaries transfer everything again.
      for (const zone of this.#zones.values()) { this.#touchedZones.add(zone); zone.journal.clear() }
    }
    const changed: Zone[] = []
    for (const zone of this.#touchedZones) {
      if (this.#zones.get(zone.apex) !== zone) continue
      const soa = this.rrsets(zone.apex)?.get('SOA')?.[0]?.data as SoaData | undefined
      const soaKey = JSON.stringify(soa)
      const soaChanged = soaKey !== zone.soaKey
      zone.soaKey = soaKey
      const next = zone.journal.close({ serial: zone.serial, fresh: zone.fresh, soaChanged, sourceSerial: soa?.serial ?? 0 }, this.#now)
      zone.fresh = false
      zone.serial = next.serial
      if (next.changed) changed.push(zone)
      // A signed zone whose negative TTL changed: every denial's NSEC carries it.
      if (this.#targets.served(zone.apex, this.#soaOf(zone))) this.#markSubtree(zone.apex)
      this.#dirty.add(zone.apex)
    }
    this.#touchedZones.clear()
    // A big batch is signed in slices, but for the apexes: a name of a zone of ours always finds its apex.
    const slices = this.#targets.slices(this.#dirty.size)
    for (const name of this.#dirty) this.#compile(name, slices && !this.#zones.has(name))
    this.#dirty.clear()
    this.#targets.publish()
    for (const zone of changed) this.#o.onZoneChanged?.(zone.apex, zone.serial)
    if (zonesChanged) this.#o.onZonesChanged?.()
  }

  /**
   * Compiles every name again, and each zone's negative SOA: for signatures made for a new validity window
   * (the records did not change, so no serial does).
   */
  refreshSignatures(): void {
    if (!this.#targets.signed) return
    // Each name keeps its answers, still valid, until signed again in a slice; the apexes now, with the SOA.
    for (const zone of this.#zones.values()) this.#touchedZones.add(zone)
    for (const name of [...this.#owners.keys(), ...this.#below.keys()]) if (!this.#zones.has(name)) this.#targets.resign(name)
    this.#flush()
  }

  // ---- zone transfers ----

  /** The SOA record as served (current serial), or undefined when `apex` is not a zone of ours. */
  soa(apex: Name): Rec | undefined {
    const zone = this.#zones.get(apex)
    return zone === undefined ? undefined : this.#soaOf(zone)
  }

  /** Every served record of the zone at `apex` except its SOA, TTLs as answered (one per RRset). */
  zoneRecords(apex: Name): Rec[] {
    const out: Rec[] = []
    for (const name of this.#owners.keys()) {
      if (this.#zoneFor(name)?.apex !== apex) continue
      out.push(...served(this.rrsets(name)))
    }
    return out
  }

  /** The zone's serial changes, oldest first (bounded). */
  journal(apex: Name): readonly JournalEntry[] {
    return this.#zones.get(apex)?.journal.entries ?? []
  }

  /** The apex SOA with the served serial in place of the file's. */
  #soaOf(zone: Zone): Rec {
    const rec = this.rrsets(zone.apex)?.get('SOA')?.[0] as Rec
    return { name: rec.name, ttl: rec.ttl, data: { ...(rec.data as SoaData & { type: 'SOA' }), serial: zone.serial } }
  }

  /** Compiles one name into the table (compile.ts), notes what it read, and reports an RRset too big for a message once. */
  #compile(name: Name, signLater: boolean): void {
    const reads = new Set<Name>()
    const result = this.#targets.compile(name, this.#view, (n) => { reads.add(n) }, signLater)
    this.#readers.set(name, result === null ? new Set() : reads)
    if (result === null) return
    for (const [code, c] of result.byType) {
      if ((c.rcode & PARTIAL) === 0 || code === QTYPE_ANY) continue
      const type = typeName(code)
      if (this.#oversize.has(`${name} ${type}`)) continue
      this.#oversize.add(`${name} ${type}`)
      this.#o.onOversize?.(name, type, c.an, this.#view.rrsets(name)?.get(type)?.length ?? c.an)
    }
  }
}
