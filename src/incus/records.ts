/**
 * @module incus/records
 * Settles what every instance claims into records per owner name, and writes only the owners a change
 * touches. One instance per name: two instances claiming one hostname get a deterministic winner (the
 * smaller project/name) and a warning; an alias claimed by one instance is a CNAME to its hostname, by
 * several a round-robin of all their addresses; PTRs point at the hostname of the address's owner.
 */
import { ZoneDataError } from '../errors.ts'
import type { ZoneWriter } from '../zone/store.ts'
import type { Name, Rec } from '../zone/types.ts'
import type { Mapped } from './map.ts'
import { reverseName } from './reverse.ts'

type Claim = 'hostname' | 'alias' | 'ptr'

export interface RecordSettings {
  readonly ttl: number
  /** guest-ip: A/AAAA; cname: every hostname is a CNAME to `cnameTarget`. */
  readonly targetMode: 'guest-ip' | 'cname'
  readonly cnameTarget: Name | null
}

export interface RecordEvents {
  /** A name two instances claim: `winner` keeps it. */
  conflict(name: Name, winner: string, loser: string): void
  /** A name the store would not take (outside every zone, ...). */
  rejected(name: Name, reason: string): void
}

export class InstanceRecords {
  readonly #instances = new Map<string, Mapped>()
  /**
   * The owners each instance claims, as claimed (not recomputed: reverse zones may have changed since), as a
   * flat list [owner, how, owner, how, ...]. Flat arrays rather than tuples or Maps: at 100k instances the
   * per-name Maps were most of this class's memory.
   */
  readonly #owned = new Map<string, string[]>()
  /** owner name → [instance key, how, instance key, how, ...]. */
  readonly #claims = new Map<Name, string[]>()
  readonly #settings: RecordSettings
  readonly #events: RecordEvents
  /** Reverse zones PTRs may go into; a PTR outside them is not made. */
  #reverseZones: ReadonlySet<Name> = new Set()
  /** owner → instances that lost it now, so a standing conflict is reported once, not on every change. */
  readonly #losers = new Map<Name, Set<string>>()
  /** Conflicts seen (each instance losing a name counts once, until it stops claiming it). */
  conflicts = 0

  constructor(settings: RecordSettings, events: RecordEvents) {
    this.#settings = settings
    this.#events = events
  }

  get instances(): ReadonlyMap<string, Mapped> { return this.#instances }
  /** The instances (project/name) claiming `owner`. */
  claimsOf(owner: Name): string[] {
    const c = this.#claims.get(owner) ?? []
    return c.filter((_, i) => i % 2 === 0).sort()
  }

  /** The instance whose hostname `owner` is now (the first by project/name), or null when none claims it so. */
  hostnameWinner(owner: Name): string | null {
    const c = this.#claims.get(owner) ?? []
    const hosts: string[] = []
    for (let i = 0; i < c.length; i += 2) if (c[i + 1] === 'hostname') hosts.push(c[i] as string)
    return hosts.sort()[0] ?? null
  }

  get reverseZones(): ReadonlySet<Name> { return this.#reverseZones }

  /** Sets the reverse zones PTRs go into; returns true when they changed (re-apply every instance then). */
  setReverseZones(zones: Iterable<Name>): boolean {
    const next = new Set(zones)
    const same = next.size === this.#reverseZones.size && [...next].every((z) => this.#reverseZones.has(z))
    this.#reverseZones = next
    return !same
  }

  /** Applies changed instances (null: gone) in one store batch; returns the owners written. */
  apply(zone: ZoneWriter, changes: ReadonlyMap<string, Mapped | null>): Name[] {
    const touched = new Set<Name>()
    for (const [key, next] of changes) {
      const old = this.#owned.get(key) ?? []
      for (let i = 0; i < old.length; i += 2) { this.#unclaim(old[i] as Name, key); touched.add(old[i] as Name) }
      this.#owned.delete(key)
      if (next === null) { this.#instances.delete(key); continue }
      this.#instances.set(key, next)
      const owners = this.#ownersOf(next)
      if (owners.length > 0) this.#owned.set(key, owners.slice()) // sized exactly: push() leaves room for 16 more
      for (let i = 0; i < owners.length; i += 2) { this.#claim(owners[i] as Name, key, owners[i + 1] as Claim); touched.add(owners[i] as Name) }
    }
    // An alias CNAMEs to its instance's hostname, so a hostname change touches the aliases too (already
    // in `touched` through the instance's own claims).
    const written: Name[] = []
    zone.batch(() => {
      for (const owner of touched) {
        const recs = this.#resolve(owner)
        if (sameRecords(zone.recordsOf('incus', owner) ?? [], recs)) continue
        try {
          zone.setOwner('incus', owner, recs)
          written.push(owner)
        } catch (err) {
          if (!(err instanceof ZoneDataError)) throw err
          this.#events.rejected(owner, err.message)
        }
      }
    })
    return written
  }

  /** Every name an instance claims, and how, flat: [owner, how, ...]. Nothing when it publishes nothing. */
  #ownersOf(m: Mapped): string[] {
    if (m.skipped !== null || m.hostname === null) return []
    const out: string[] = [m.hostname, 'hostname']
    // A wildcard below the hostname (RFC 4592) with the same records: app1.web.<suffix> resolves to web.
    if (m.wildcard === true) out.push(`*.${m.hostname}`, 'hostname')
    for (const a of m.aliases) out.push(a, 'alias')
    if (this.#settings.targetMode === 'guest-ip') {
      for (const address of [m.ipv4, m.ipv6]) {
        if (address === null) continue
        const ptr = reverseName(address)
        if (this.#inReverseZone(ptr)) out.push(ptr, 'ptr')
      }
    }
    return out
  }

  #inReverseZone(name: Name): boolean {
    for (const z of this.#reverseZones) if (name.endsWith('.' + z)) return true
    return false
  }

  #claim(owner: Name, key: string, how: Claim): void {
    const claims = this.#claims.get(owner)
    if (claims === undefined) { this.#claims.set(owner, [key, how]); return }
    const i = claims.indexOf(key)
    if (i >= 0 && i % 2 === 0) claims[i + 1] = how
    else claims.push(key, how)
  }

  #unclaim(owner: Name, key: string): void {
    const claims = this.#claims.get(owner)
    if (claims === undefined) return
    const i = claims.indexOf(key)
    if (i >= 0 && i % 2 === 0) claims.splice(i, 2)
    if (claims.length === 0) this.#claims.delete(owner)
  }

  /** The records for one owner from everything that claims it. */
  #resolve(owner: Name): Rec[] {
    const claims = this.#claims.get(owner)
    if (claims === undefined) return []
    const how = new Map<string, string>()
    for (let i = 0; i < claims.length; i += 2) how.set(claims[i] as string, claims[i + 1] as string)
    const sorted = [...how.keys()].sort()
    const of = (kind: Claim): Mapped[] => sorted.filter((k) => how.get(k) === kind).map((k) => this.#instances.get(k) as Mapped)
    const { ttl, targetMode, cnameTarget } = this.#settings
    const cname = targetMode === 'cname' ? cnameTarget : null
    const hosts = of('hostname')
    const aliases = of('alias')
    const ptrs = of('ptr')
    // A hostname beats aliases; PTRs only meet each other (a PTR owner is never a hostname or alias).
    if (hosts.length > 0) {
      this.#noteConflicts(owner, hosts[0], [...hosts.slice(1), ...aliases])
      return this.#addressRecords(owner, [hosts[0] as Mapped], cname)
    }
    if (aliases.length > 0) {
      this.#noteConflicts(owner, undefined, []) // a shared alias is no conflict
      if (aliases.length === 1) return [{ name: owner, ttl, data: { type: 'CNAME', target: (aliases[0] as Mapped).hostname as Name } }]
      return this.#addressRecords(owner, aliases, cname)
    }
    this.#noteConflicts(owner, ptrs[0], ptrs.slice(1))
    if (ptrs.length > 0) return [{ name: owner, ttl, data: { type: 'PTR', target: (ptrs[0] as Mapped).hostname as Name } }]
    return []
  }

  #addressRecords(owner: Name, from: readonly Mapped[], cname: Name | null): Rec[] {
    const ttl = this.#settings.ttl
    if (cname !== null) return [{ name: owner, ttl, data: { type: 'CNAME', target: cname } }]
    const recs: Rec[] = []
    for (const m of from) if (m.ipv4 !== null) recs.push({ name: owner, ttl, data: { type: 'A', address: m.ipv4 } })
    for (const m of from) if (m.ipv6 !== null) recs.push({ name: owner, ttl, data: { type: 'AAAA', address: m.ipv6 } })
    return recs
  }

  /** Reports the instances that newly lost `owner` to `winner`; forgets those that no longer claim it. */
  #noteConflicts(owner: Name, winner: Mapped | undefined, losers: readonly Mapped[]): void {
    const before = this.#losers.get(owner)
    const now = new Set(losers.map((m) => m.key))
    for (const m of losers) {
      if (before?.has(m.key) === true) continue
      this.conflicts++
      this.#events.conflict(owner, (winner as Mapped).key, m.key)
    }
    if (now.size === 0) this.#losers.delete(owner)
    else this.#losers.set(owner, now)
  }
}

function sameRecords(a: readonly Rec[], b: readonly Rec[]): boolean {
  return a.length === b.length && JSON.stringify(a) === JSON.stringify(b)
}
