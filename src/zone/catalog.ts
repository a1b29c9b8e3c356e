/**
 * @module zone/catalog
 * A catalog zone (RFC 9432, version 2) listing every zone incus-dns is primary for, so that secondaries
 * (Knot 3.0+, NSD 4.9+, PowerDNS 4.7+, BIND) add and remove those zones themselves: the zone files', the Incus
 * suffix zones and the generated reverse zones, as they come and go. One PTR per member under
 * `<id>.zones.<catalog>`, with a `group` property saying where the member comes from (`incus`, `reverse`,
 * `file`), so that a consumer can take a template per kind. A member's id is derived from its name alone:
 * stable across restarts, and the same when a zone goes and comes back (a consumer purges a member whose id
 * changes). The catalog is a zone of the store like the others: transfers, its own serial and journal, and
 * NOTIFY when its membership changes come with that.
 */
import { createHash } from 'node:crypto'
import type { Logger } from '../log.ts'
import { isReverseName } from './name.ts'
import type { ZoneWriter } from './zone-writer.ts'
import type { Name, Rec, SourceId } from './types.ts'

/** Where a member zone comes from: the Incus source's suffix zones, its generated reverse zones, a zone file. */
export type CatalogGroup = 'incus' | 'reverse' | 'file'

export interface CatalogMember {
  readonly zone: Name
  /** The member's unique id: its owner's first label, `<id>.zones.<catalog>`. */
  readonly id: string
  readonly group: CatalogGroup
}

/** What the catalog reads of the store: its zones, and who publishes each one's SOA. */
export interface CatalogReader {
  zones(): Name[]
  published(name: Name): ReadonlyMap<SourceId, readonly Rec[]>
}

/** A member's id: 20 hex digits of the SHA-256 of its name (lowercase, no final dot), so the name alone decides it. */
export function memberId(zone: Name): string {
  return createHash('sha256').update(zone.toLowerCase()).digest('hex').slice(0, 20)
}

/** A zone's group: a zone file's SOA makes it `file`; else a reverse name is `reverse`, any other `incus`. */
export function memberGroup(zone: Name, published: ReadonlyMap<SourceId, readonly Rec[]>): CatalogGroup {
  if (published.get('file')?.some((r) => r.data.type === 'SOA') === true) return 'file'
  return isReverseName(zone) ? 'reverse' : 'incus'
}

/** The catalog's apex: SOA and NS naming `invalid.` (RFC 9432 4.1: no one is to ask it), and the schema version. */
export function catalogApex(apex: Name, serial: number): Rec[] {
  return [
    { name: apex, ttl: 0, data: { type: 'SOA', mname: 'invalid', rname: 'invalid', serial, refresh: 3600, retry: 600, expire: 2147483646, minimum: 0 } },
    { name: apex, ttl: 0, data: { type: 'NS', target: 'invalid' } },
  ]
}

export interface CatalogOptions {
  /** The catalog zone's name (INCUS_DNS_CATALOG). */
  readonly apex: Name
  readonly store: CatalogReader
  /** Where its records go: the store, or every view's store. */
  readonly writer: ZoneWriter
  readonly log: Logger
  /** Seconds since the epoch, for the first serial. */
  readonly now?: () => number
}

export class Catalog {
  readonly #o: CatalogOptions
  readonly #members = new Map<Name, CatalogMember>()
  #started = false
  #pending = false

  constructor(options: CatalogOptions) {
    this.#o = options
  }

  get apex(): Name { return this.#o.apex }
  get started(): boolean { return this.#started }

  /** The members now, by zone name. */
  members(): CatalogMember[] {
    return [...this.#members.values()].sort((a, b) => (a.zone < b.zone ? -1 : a.zone > b.zone ? 1 : 0))
  }

  /**
   * Serves the catalog, with every zone of the store as a member. Called once every source has said which
   * zones it serves: a catalog served earlier would lack zones, and its consumers would purge them.
   */
  start(): void {
    if (this.#started) return
    this.#started = true
    const { apex, writer, now } = this.#o
    // Time-based from the start, so that a restart never serves a serial lower than the last run's.
    const serial = Math.floor(now?.() ?? Date.now() / 1000) >>> 0
    writer.batch(() => {
      writer.setOwner('catalog', apex, catalogApex(apex, serial))
      writer.setOwner('catalog', `version.${apex}`, [{ name: `version.${apex}`, ttl: 0, data: { type: 'TXT', strings: ['2'] } }])
      this.#sync()
    })
  }

  /** The store's zones changed (store.ts onZonesChanged): the members follow, right after the batch that changed them. */
  zonesChanged(): void {
    if (!this.#started || this.#pending) return
    this.#pending = true
    queueMicrotask(() => { this.#pending = false; this.#sync() })
  }

  #sync(): void {
    const { apex, store, writer, log } = this.#o
    const wanted = new Map<Name, CatalogMember>()
    for (const zone of store.zones()) {
      if (zone === apex) continue
      wanted.set(zone, { zone, id: memberId(zone), group: memberGroup(zone, store.published(zone)) })
    }
    const added: string[] = []
    const removed: string[] = []
    writer.batch(() => {
      for (const [zone, m] of this.#members) {
        if (wanted.has(zone)) continue
        writer.removeOwner('catalog', `${m.id}.zones.${apex}`)
        writer.removeOwner('catalog', `group.${m.id}.zones.${apex}`)
        this.#members.delete(zone)
        removed.push(zone)
      }
      for (const [zone, m] of wanted) {
        const had = this.#members.get(zone)
        if (had !== undefined && had.group === m.group) continue
        const owner = `${m.id}.zones.${apex}`
        if (had === undefined) writer.setOwner('catalog', owner, [{ name: owner, ttl: 0, data: { type: 'PTR', target: zone } }])
        writer.setOwner('catalog', `group.${owner}`, [{ name: `group.${owner}`, ttl: 0, data: { type: 'TXT', strings: [m.group] } }])
        this.#members.set(zone, m)
        if (had === undefined) added.push(zone)
      }
    })
    if (added.length > 0 || removed.length > 0) log.info({ catalog: apex, added, removed, members: this.#members.size }, 'catalog zone members changed')
  }
}
