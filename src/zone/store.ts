/**
 * @module zone/store
 * The single source of truth: the records every source publishes, by owner name, and the answer table
 * compiled from them. A change recompiles only the owners it affects (the name itself, its empty
 * non-terminal ancestors, and owners whose CNAME chain or additional section read it), once per batch.
 */
import { ZoneDataError } from '../errors.ts'
import { canonicalAddress } from './address.ts'
import { compileName, encodeNegativeSoa } from './compile.ts'
import type { ZoneInfo, ZoneView } from './compile.ts'
import { canonicalName, isAtOrBelow, parentName, wireKey } from './name.ts'
import { AnswerTable, negativeAnswer, RCODE_NOERROR, RCODE_NXDOMAIN, typeKey } from './table.ts'
import type { ZoneNegative } from './table.ts'
import { RecordType, SOURCE_PRECEDENCE } from './types.ts'
import type { Name, Rdata, Rec, SoaData, SourceId, TypeName } from './types.ts'

/** What a source (zone files, Incus) may do to the zone. */
export interface ZoneWriter {
  /** Replaces everything `source` publishes at `name`; [] removes it. Zone files win over Incus per type. */
  setOwner(source: SourceId, name: Name, recs: readonly Rec[]): void
  removeOwner(source: SourceId, name: Name): void
  /** Applies many changes as one: one serial bump per zone, each touched name recompiled once. */
  batch(apply: () => void): void
  /** The apex of the closest zone holding `name`, or null when no zone does. */
  zoneOf(name: Name): Name | null
}

/** Called when two sources publish the same name and type and the higher-precedence one wins. */
export type ShadowListener = (name: Name, type: TypeName, winner: SourceId, loser: SourceId) => void

interface Zone extends ZoneInfo {
  serial: number
}

type Owner = Map<SourceId, readonly Rec[]>

export interface ZoneStoreOptions {
  /** Seconds since the epoch; serials are time-based so they grow across restarts too. */
  readonly now?: () => number
  readonly onShadow?: ShadowListener
}

export class ZoneStore implements ZoneWriter {
  readonly table = new AnswerTable()
  readonly #owners = new Map<Name, Owner>()
  /** Effective RRsets per name, merged across sources; recomputed when the name changes. */
  readonly #sets = new Map<Name, Map<TypeName, readonly Rec[]>>()
  readonly #zones = new Map<Name, Zone>()
  /** Number of names with records strictly below each name: > 0 makes an empty non-terminal exist. */
  readonly #below = new Map<Name, number>()
  /** Table keys written for each owner, so a recompile can remove what no longer applies. */
  readonly #keys = new Map<Name, string[]>()
  /** name → owners whose compiled answers read it; and the reverse, to unregister on recompile. */
  readonly #readers = new Map<Name, Set<Name>>()
  readonly #reads = new Map<Name, Set<Name>>()
  readonly #dirty = new Set<Name>()
  readonly #touchedZones = new Set<Zone>()
  #zonesChanged = false
  #depth = 0
  readonly #now: () => number
  readonly #onShadow: ShadowListener | undefined

  constructor(options: ZoneStoreOptions = {}) {
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000))
    this.#onShadow = options.onShadow
  }

  // ---- ZoneWriter ----

  setOwner(source: SourceId, name: Name, recs: readonly Rec[]): void {
    const owner = canonicalName(name)
    const clean = checkOwnerRecords(owner, recs)
    const isApex = clean.some((r) => r.data.type === 'SOA')
    if (!isApex && clean.length > 0 && this.#zoneFor(owner) === null) {
      throw new ZoneDataError(`${owner} is in no zone we serve; add a zone file for its domain`)
    }
    if (!isApex && clean.some((r) => r.data.type === 'NS') && !this.#zones.has(owner)) {
      throw new ZoneDataError(`NS records at ${owner}, below its zone's apex: delegations are not supported`)
    }
    this.batch(() => {
      let entry = this.#owners.get(owner)
      if (clean.length === 0) {
        if (entry === undefined || !entry.delete(source)) return
        if (entry.size === 0) this.#owners.delete(owner)
      } else {
        if (entry === undefined) { entry = new Map(); this.#owners.set(owner, entry) }
        entry.set(source, clean)
      }
      this.#ownerChanged(owner)
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

  // ---- reading ----

  /** Every zone apex we serve. */
  zones(): Name[] {
    return [...this.#zones.keys()]
  }

  /** The serial currently served for the zone at `apex`. */
  serial(apex: Name): number | undefined {
    return this.#zones.get(apex)?.serial
  }

  /** The effective records at `name` (after precedence), SOA with the served serial. */
  records(name: Name): Rec[] {
    const sets = this.rrsets(canonicalName(name))
    return sets === undefined ? [] : [...sets.values()].flat()
  }

  /** All names with records, for dumps and transfers. */
  names(): Name[] {
    return [...this.#sets.keys()]
  }

  /** What each source publishes at `name`, before precedence. */
  published(name: Name): ReadonlyMap<SourceId, readonly Rec[]> {
    return this.#owners.get(canonicalName(name)) ?? new Map()
  }

  // ---- what the compiler reads ----

  rrsets(name: Name): ReadonlyMap<TypeName, readonly Rec[]> | undefined {
    return this.#sets.get(name)
  }

  exists(name: Name): boolean {
    return this.#sets.has(name) || (this.#below.get(name) ?? 0) > 0
  }

  #zoneFor(name: Name): Zone | null {
    for (let n: Name | null = name; n !== null; n = parentName(n)) {
      const zone = this.#zones.get(n)
      if (zone !== undefined) return zone
    }
    return null
  }

  // ---- bookkeeping ----

  /** Recomputes the effective RRsets of `name` and marks what must be recompiled. */
  #ownerChanged(name: Name): void {
    const before = this.#sets.get(name)
    const after = this.#merge(name)
    const wasApex = before?.has('SOA') ?? false
    const isApex = after?.has('SOA') ?? false
    if (after === undefined) this.#sets.delete(name)
    else this.#sets.set(name, after)

    if (isApex !== wasApex) {
      if (isApex) this.#addZone(name, after?.get('SOA')?.[0] as Rec)
      else this.#zones.delete(name)
      this.#zonesChanged = true
    }
    if ((before === undefined) !== (after === undefined)) this.#countBelow(name, after === undefined ? -1 : 1)
    this.#markChanged(name)
  }

  /** Merges the sources at `name`: per type, the first source in SOURCE_PRECEDENCE that has it wins. */
  #merge(name: Name): Map<TypeName, readonly Rec[]> | undefined {
    const owner = this.#owners.get(name)
    if (owner === undefined) return undefined
    const sets = new Map<TypeName, readonly Rec[]>()
    let winner: SourceId | null = null
    for (const source of SOURCE_PRECEDENCE) {
      const recs = owner.get(source)
      if (recs === undefined) continue
      const mine = groupByType(recs)
      // A CNAME cannot share its owner with other data (RFC 1034 3.6.2): the higher source keeps the name whole.
      if (winner !== null && (sets.has('CNAME') || mine.has('CNAME'))) {
        for (const type of mine.keys()) this.#onShadow?.(name, type, winner, source)
        continue
      }
      for (const [type, set] of mine) {
        if (sets.has(type)) { this.#onShadow?.(name, type, winner as SourceId, source); continue }
        sets.set(type, set)
      }
      winner ??= source
    }
    return sets
  }

  #addZone(apex: Name, soaRec: Rec): void {
    const soa = soaRec.data as SoaData
    const negative: ZoneNegative = { soa: Buffer.alloc(0) }
    const zone: Zone = {
      apex,
      negative,
      nodata: negativeAnswer(RCODE_NOERROR, negative),
      nxdomain: negativeAnswer(RCODE_NXDOMAIN, negative),
      serial: Math.max(this.#now(), soa.serial) >>> 0,
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
      if (!this.#sets.has(a) && (count === 0 || count === delta)) this.#markChanged(a)
      const zone = this.#zones.get(a)
      if (zone !== undefined) this.#touchedZones.add(zone)
    }
  }

  #markChanged(name: Name): void {
    this.#dirty.add(name)
    const readers = this.#readers.get(name)
    if (readers !== undefined) for (const r of readers) this.#dirty.add(r)
    const zone = this.#zoneFor(name)
    if (zone !== null) this.#touchedZones.add(zone)
  }

  #flush(): void {
    if (this.#zonesChanged) {
      // A zone appeared or went: which zone holds a name may have changed anywhere, so rebuild it all.
      this.#zonesChanged = false
      this.table.answers.clear()
      this.table.others.clear()
      this.table.apexes.clear()
      this.#keys.clear()
      for (const name of this.#sets.keys()) this.#dirty.add(name)
      for (const name of this.#below.keys()) this.#dirty.add(name)
      for (const zone of this.#zones.values()) this.#touchedZones.add(zone)
    }
    for (const zone of this.#touchedZones) {
      if (this.#zones.get(zone.apex) !== zone) continue
      zone.serial = nextSerial(zone.serial, this.#now())
      zone.negative.soa = encodeNegativeSoa(this.#soaOf(zone))
      this.table.apexes.set(wireKey(zone.apex), zone.nxdomain)
      this.#dirty.add(zone.apex)
    }
    this.#touchedZones.clear()
    for (const name of this.#dirty) this.#compile(name)
    this.#dirty.clear()
  }

  /** The apex SOA with the served serial in place of the file's. */
  #soaOf(zone: Zone): Rec {
    const rec = this.#sets.get(zone.apex)?.get('SOA')?.[0] as Rec
    return { name: rec.name, ttl: rec.ttl, data: { ...(rec.data as SoaData & { type: 'SOA' }), serial: zone.serial } }
  }

  #compile(name: Name): void {
    const table = this.table
    const wire = wireKey(name)
    for (const read of this.#reads.get(name) ?? []) this.#readers.get(read)?.delete(name)
    this.#reads.delete(name)

    const reads = new Set<Name>()
    const view: ZoneView = {
      zoneOf: (n) => this.#zoneFor(n),
      // The apex's SOA is served with the zone's current serial, not the one the source gave.
      rrsets: (n) => {
        const sets = this.#sets.get(n)
        const zone = this.#zones.get(n)
        if (sets === undefined || zone === undefined) return sets
        return new Map(sets).set('SOA', [this.#soaOf(zone)])
      },
      exists: (n) => this.exists(n),
    }
    const result = compileName(name, view, (n) => reads.add(n))
    // Overwrite keys in place and delete only those that went: delete-then-set churn on Maps of
    // 100k+ entries leaves tombstones that force rehashes, which made changes slower as zones grew.
    const old = this.#keys.get(name)
    if (result === null) {
      for (const key of old ?? []) table.answers.delete(key)
      table.others.delete(wire)
      this.#keys.delete(name)
      return
    }
    const keys: string[] = []
    for (const [qtype, answer] of result.byType) {
      const key = typeKey(wire, qtype)
      table.answers.set(key, answer)
      keys.push(key)
    }
    if (old !== undefined) for (const key of old) if (!keys.includes(key)) table.answers.delete(key)
    this.#keys.set(name, keys)
    table.others.set(wire, result.others)
    if (reads.size > 0) {
      this.#reads.set(name, reads)
      for (const r of reads) {
        let readers = this.#readers.get(r)
        if (readers === undefined) { readers = new Set(); this.#readers.set(r, readers) }
        readers.add(name)
      }
    }
  }
}

/** Time-based and strictly increasing (RFC 1982 arithmetic is left to the secondaries' side). */
function nextSerial(previous: number, now: number): number {
  return Math.max(now, previous + 1) >>> 0
}

function groupByType(recs: readonly Rec[]): Map<TypeName, Rec[]> {
  const out = new Map<TypeName, Rec[]>()
  for (const r of recs) {
    const list = out.get(r.data.type)
    if (list === undefined) out.set(r.data.type, [r])
    else list.push(r)
  }
  return out
}

/** Canonicalizes and checks the records a source hands in for one owner; drops exact duplicates (RFC 2181 5). */
function checkOwnerRecords(owner: Name, recs: readonly Rec[]): Rec[] {
  const out: Rec[] = []
  const seen = new Set<string>()
  for (const rec of recs) {
    if (canonicalName(rec.name) !== owner) throw new ZoneDataError(`record for ${rec.name} handed in for owner ${owner}`)
    if (!Number.isInteger(rec.ttl) || rec.ttl < 0 || rec.ttl > 0x7fffffff) {
      throw new ZoneDataError(`TTL ${rec.ttl} at ${owner} is not an integer from 0 to 2147483647`)
    }
    const data = canonicalRdata(rec.data)
    const id = `${data.type} ${JSON.stringify(data)}`
    if (seen.has(id)) continue
    seen.add(id)
    out.push({ name: owner, ttl: rec.ttl, data })
  }
  const types = new Set(out.map((r) => r.data.type))
  if (types.has('CNAME') && (types.size > 1 || out.length > 1)) {
    throw new ZoneDataError(`${owner} has a CNAME and other data; a CNAME must be alone at its name (RFC 1034 3.6.2)`)
  }
  if (out.filter((r) => r.data.type === 'SOA').length > 1) throw new ZoneDataError(`${owner} has more than one SOA`)
  return out
}

function u16ok(v: number): boolean { return Number.isInteger(v) && v >= 0 && v <= 0xffff }
function u32ok(v: number): boolean { return Number.isInteger(v) && v >= 0 && v <= 0xffffffff }

function canonicalRdata(d: Rdata): Rdata {
  switch (d.type) {
    case 'A': case 'AAAA': return { type: d.type, address: canonicalAddress(d.type, d.address) }
    case 'CNAME': case 'NS': case 'PTR': return { type: d.type, target: canonicalName(d.target) }
    case 'MX':
      if (!u16ok(d.preference)) throw new ZoneDataError(`MX preference ${d.preference} is not 0-65535`)
      return { type: 'MX', preference: d.preference, exchange: canonicalName(d.exchange) }
    case 'SRV':
      for (const [k, v] of [['priority', d.priority], ['weight', d.weight], ['port', d.port]] as const) {
        if (!u16ok(v)) throw new ZoneDataError(`SRV ${k} ${v} is not 0-65535`)
      }
      return { type: 'SRV', priority: d.priority, weight: d.weight, port: d.port, target: canonicalName(d.target) }
    case 'TXT':
      for (const s of d.strings) {
        if (Buffer.byteLength(s, 'utf8') > 255) throw new ZoneDataError(`TXT string longer than 255 bytes: '${s.slice(0, 20)}...'`)
      }
      return { type: 'TXT', strings: [...d.strings] }
    case 'SOA':
      for (const [k, v] of Object.entries(d)) {
        if (typeof v === 'number' && !u32ok(v)) throw new ZoneDataError(`SOA ${k} ${v} is not 0-4294967295`)
      }
      return { ...d, mname: canonicalName(d.mname), rname: canonicalName(d.rname) }
  }
}

export { RecordType }
