/**
 * @module incus/naming/records
 * Settles what every instance claims into records per owner name, and writes only the owners a change
 * touches. One instance per name: two instances claiming one hostname get a deterministic winner (the
 * smaller project/name) and a warning; a service name answers with its served replicas (services.ts); an
 * alias claimed by one instance is a CNAME to its hostname, by several a round-robin of all their addresses;
 * PTRs point at the hostname of the address's owner. On one name a hostname beats a service, which beats
 * an alias; an instance's own name beats a hostname another one claims through a key. SRV owners
 * (`_<svc>._<proto>.<name>`) follow whoever keeps `<name>`. Names an instance claims through its keys go
 * through the name rules first (name-rules.ts): what they refuse is never claimed, and reported once.
 */
import { ZoneDataError } from '../../errors.ts'
import type { ZoneWriter } from '../../zone/zone-writer.ts'
import type { Name, Rec } from '../../zone/types.ts'
import { srvOwner } from './labels.ts'
import type { CaddyProxy } from './caddy.ts'
import { Claims } from './claims.ts'
import type { Claim } from './claims.ts'
import type { Mapped } from './map.ts'
import type { NameRules, Refusal } from './name-rules.ts'
import { reverseName } from './reverse.ts'
import { selectService, serviceRows } from './services.ts'
import type { ServiceRow } from './services.ts'

export interface RecordSettings {
  readonly ttl: number
  /** guest-ip: A/AAAA; cname: every hostname is a CNAME to `cnameTarget`. */
  readonly targetMode: 'guest-ip' | 'cname'
  readonly cnameTarget: Name | null
  /**
   * The order of instance keys when two claim one name (the first keeps it): project/name by default; with
   * several remotes (keys `<remote>:<project>/<name>`), the remotes' order in INCUS_DNS_INCUS_REMOTES first.
   */
  readonly compare?: (a: string, b: string) => number
  /** Which names an instance may claim through its keys; absent: every name (tests of the mechanics alone). */
  readonly rules?: NameRules
  /** Where Caddy is (INCUS_DNS_CADDY_PROXY): the names it routes answer with it; absent or null: those keys are ignored. */
  readonly caddyProxy?: CaddyProxy | null
}

/** Instance keys in their plain order (project/name). */
export const byKey = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

export interface RecordEvents {
  /** A name two instances claim: `winner` keeps it, by `rule`. */
  conflict(name: Name, winner: string, loser: string, rule: string): void
  /** A name the store would not take (outside every zone, ...). */
  rejected(name: Name, reason: string): void
  /** A name an instance's key asked for that the name rules refuse: once, until the key or the instance changes it. */
  refused?(refusal: Refusal): void
}

export class InstanceRecords {
  /** Every instance as Incus gave it (what the source compares a sync against, and the state file keeps). */
  readonly #instances = new Map<string, Mapped>()
  /** The instances the name rules took something from, as they may publish; the others publish as given. */
  readonly #settled = new Map<string, Mapped>()
  /** Instance → the names its keys asked for that the rules refused. */
  readonly #refused = new Map<string, readonly Refusal[]>()
  /** Who claims which names, and how (claims.ts). */
  readonly #claims = new Claims()
  readonly #settings: RecordSettings
  readonly #events: RecordEvents
  readonly #compare: (a: string, b: string) => number
  /** Reverse zones PTRs may go into; a PTR outside them is not made. */
  #reverseZones: ReadonlySet<Name> = new Set()
  /** owner → instances that lost it now, so a standing conflict is reported once, not on every change. */
  readonly #losers = new Map<Name, Set<string>>()
  /** Conflicts seen (each instance losing a name counts once, until it stops claiming it). */
  conflicts = 0
  /** PTR owners left without a PTR because instances on two cluster members hold the address → those instances. */
  readonly #shared = new Map<Name, string[]>()
  /** A name → the SRV owners below it (`_x._tcp.<name>`): re-settled whenever the name is. */
  readonly #srvUnder = new Map<Name, Set<Name>>()
  /** Names Caddy routes (claimed 'caddy'): re-settled whenever the proxy instance changes. */
  readonly #caddyNames = new Set<Name>()

  constructor(settings: RecordSettings, events: RecordEvents) {
    this.#settings = settings
    this.#events = events
    this.#compare = settings.compare ?? byKey
  }

  get instances(): ReadonlyMap<string, Mapped> { return this.#instances }
  /** The instance as it publishes, after the name rules. */
  settled(key: string): Mapped | undefined { return this.#settled.get(key) ?? this.#instances.get(key) }
  /** Every name refused now, by instance then name. */
  refusals(): Refusal[] { return [...this.#refused.values()].flat().sort((a, b) => this.#compare(a.instance, b.instance) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) }
  /** The instances (project/name) claiming `owner`. */
  claimsOf(owner: Name): string[] {
    return this.#claims.claimants(owner).sort(this.#compare)
  }

  /** The instance whose hostname `owner` is now (the first by project/name), or null when none claims it so. */
  hostnameWinner(owner: Name): string | null {
    return this.#claims.claimants(owner, 'own').sort(this.#compare)[0] ?? this.#claims.claimants(owner, 'hostname').sort(this.#compare)[0] ?? null
  }

  get reverseZones(): ReadonlySet<Name> { return this.#reverseZones }

  /**
   * Each name an instance claims (its own, through a key, as a service or an alias; not PTRs or SRV) and whether a
   * query for it gets this instance, with why not: what the status page says a name does is what a query gets.
   */
  standing(key: string): { name: Name; answers: boolean; why: string | null }[] {
    const out: { name: Name; answers: boolean; why: string | null }[] = []
    this.#claims.forEachOwned(key, (name, how) => {
      if (how === 'ptr' || how === 'srv') return
      const kinds = new Set<Claim>()
      this.#claims.forEach(name, (k, h) => { if (k !== key) kinds.add(h) })
      const host = this.hostnameWinner(name)
      let why: string | null = null
      if (how === 'own' || how === 'hostname') why = host === key ? null : `${name} is answered for ${host ?? '?'}`
      else if (host !== null) why = `${name} is the name of instance ${host}`
      else if (how === 'service') {
        const replicas = this.#claims.claimants(name, 'service').sort(this.#compare).map((k) => this.settled(k) as Mapped)
        const sel = selectService(replicas)
        why = sel.served.some((m) => m.key === key) ? null : sel.otherStacks.some((m) => m.key === key) ? `stack '${sel.stack}' keeps ${name}` : `withheld from ${name} by its health`
      } else if (how === 'caddy') why = kinds.has('service') ? `${name} is a service's name` : null
      else why = kinds.has('service') ? `${name} is a service's name` : kinds.has('caddy') ? `${name} is a name Caddy routes` : null
      out.push({ name, answers: why === null, why })
    })
    return out
  }

  /** Addresses held by instances on two cluster members (their PTR owner), with the instances: no PTR is given. */
  sharedAddresses(): { ptr: Name; instances: string[] }[] {
    return [...this.#shared].sort(([a], [b]) => (a < b ? -1 : 1)).map(([ptr, instances]) => ({ ptr, instances }))
  }

  /** Every service with its replicas and which of them are served, for the status page and metrics. */
  services(): ServiceRow[] { return serviceRows([...this.#instances.keys()].map((k) => this.settled(k) as Mapped), (name) => this.hostnameWinner(name)) }

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
    const released = (owner: Name): void => {
      this.#caddyNames.delete(owner)
      const under = this.#srvUnder.get(srvBase(owner))
      if (under?.delete(owner) === true && under.size === 0) this.#srvUnder.delete(srvBase(owner))
    }
    for (const [key, next] of changes) {
      if (next === null) this.#forget(key)
      else this.#instances.set(key, next)
      const owners = next === null ? [] : this.#ownersOf(this.#settle(key, next, zone))
      this.#claims.set(key, owners, touched, released)
      for (let i = 0; i < owners.length; i += 2) this.#claimed(owners[i] as Name, owners[i + 1] as Claim)
    }
    // An alias CNAMEs to its instance's hostname, so a hostname change touches the aliases too (already
    // in `touched` through the instance's own claims). SRV owners read the name they are below: a replica's
    // health, or a hostname taking a service's name, changes them too. Names Caddy routes read the proxy.
    for (const owner of [...touched]) for (const srv of this.#srvUnder.get(owner) ?? []) touched.add(srv)
    const proxy = this.#settings.caddyProxy
    if (proxy !== undefined && proxy !== null && 'instance' in proxy && changes.has(proxy.instance)) for (const n of this.#caddyNames) touched.add(n)
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

  /** The instance after the name rules; new refusals are reported, and the instance's old ones forgotten. */
  #settle(key: string, m: Mapped, zone: ZoneWriter): Mapped {
    const rules = this.#settings.rules
    if (rules === undefined) return m
    const { allowed, refused } = rules.settle(m, zone)
    if (allowed === m) this.#settled.delete(key)
    else this.#settled.set(key, allowed)
    const before = this.#refused.get(key) ?? []
    for (const r of refused) {
      if (!before.some((b) => b.key === r.key && b.name === r.name && b.reason === r.reason)) this.#events.refused?.(r)
    }
    if (refused.length === 0) this.#refused.delete(key)
    else this.#refused.set(key, refused)
    return allowed
  }

  #forget(key: string): void {
    this.#instances.delete(key)
    this.#settled.delete(key)
    this.#refused.delete(key)
  }

  /** Every name an instance claims, and how, flat: [owner, how, ...]. Nothing when it publishes nothing. */
  #ownersOf(m: Mapped): string[] {
    if (m.skipped !== null || m.hostname === null) return []
    // Its own name, unless a key gave it (then another instance's own name beats it).
    const how: Claim = m.keys?.[m.hostname] === undefined ? 'own' : 'hostname'
    const out: string[] = [m.hostname, how]
    // A wildcard below the hostname (RFC 4592) with the same records: app1.web.<suffix> resolves to web.
    if (m.wildcard === true) out.push(`*.${m.hostname}`, how)
    if (m.service !== undefined) out.push(m.service, 'service')
    if (m.caddy !== undefined && this.#settings.caddyProxy !== undefined && this.#settings.caddyProxy !== null) out.push(m.caddy, 'caddy')
    for (const a of m.aliases) out.push(a, 'alias')
    const srv = new Set<Name>()
    for (const spec of m.srv ?? []) {
      srv.add(srvOwner(spec, m.hostname))
      if (m.service !== undefined) srv.add(srvOwner(spec, m.service))
    }
    for (const o of srv) out.push(o, 'srv')
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

  /** Notes the claims other names depend on: names Caddy routes (they read the proxy), SRV owners (they read the name they are below). */
  #claimed(owner: Name, how: Claim): void {
    if (how === 'caddy') this.#caddyNames.add(owner)
    if (how === 'srv') {
      const base = srvBase(owner)
      const under = this.#srvUnder.get(base)
      if (under === undefined) this.#srvUnder.set(base, new Set([owner]))
      else under.add(owner)
    }
  }

  /** The records for one owner from everything that claims it. */
  #resolve(owner: Name): Rec[] {
    const how = new Map<string, Claim>()
    this.#claims.forEach(owner, (key, h) => how.set(key, h))
    if (how.size === 0) return []
    const sorted = [...how.keys()].sort(this.#compare)
    const of = (kind: Claim): Mapped[] => sorted.filter((k) => how.get(k) === kind).map((k) => this.settled(k) as Mapped)
    const { ttl, targetMode, cnameTarget } = this.#settings
    const cname = targetMode === 'cname' ? cnameTarget : null
    const own = of('own')
    const hosts = [...own, ...of('hostname')]
    const services = of('service')
    const caddies = of('caddy')
    const aliases = of('alias')
    const ptrs = of('ptr')
    // A hostname beats a service, which beats aliases; PTRs only meet each other (a PTR owner is never a
    // hostname or alias), and SRV owners (their first label starts with '_') nearly always do.
    if (hosts.length > 0) {
      const rule = own.length > 0 && hosts.length > own.length ? "an instance's own name beats a hostname key; among equals the first by project/name keeps it" : 'the first by project/name keeps it'
      this.#noteConflicts(owner, hosts[0], hosts.slice(1), rule)
      this.#noteConflicts(owner, hosts[0], [...services, ...caddies, ...aliases], "an instance's own name beats a service or an alias", 'other')
      return this.#addressRecords(owner, [hosts[0] as Mapped], cname)
    }
    if (services.length > 0) {
      const sel = selectService(services)
      this.#noteConflicts(owner, sel.replicas[0], sel.otherStacks, `the stack whose name sorts first ('${sel.stack}') keeps it`)
      this.#noteConflicts(owner, sel.replicas[0], [...caddies, ...aliases], 'a service beats an alias', 'other')
      return this.#addressRecords(owner, sel.served, cname)
    }
    if (caddies.length > 0) {
      this.#noteConflicts(owner, caddies[0], aliases, 'a name Caddy routes beats an alias', 'other')
      return this.#proxyRecords(owner)
    }
    this.#noteConflicts(owner, undefined, [], '', 'other')
    const srvs = of('srv')
    if (srvs.length > 0) {
      this.#noteConflicts(owner, undefined, [], '')
      return this.#srvRecords(owner, srvs)
    }
    if (aliases.length > 0) {
      this.#noteConflicts(owner, undefined, [], '') // a shared alias is no conflict
      if (aliases.length === 1) return [{ name: owner, ttl, data: { type: 'CNAME', target: (aliases[0] as Mapped).hostname as Name } }]
      return this.#addressRecords(owner, aliases, cname)
    }
    // One address on two cluster members (each member's bridge hands out the same subnet, docs/clusters.md):
    // whichever PTR we gave could name the wrong instance for the asker, so there is none.
    if (ptrs.length > 1 && ptrs.every((m) => m.location !== undefined) && new Set(ptrs.map((m) => m.location)).size > 1) {
      this.#noteConflicts(owner, ptrs[0], ptrs.slice(1), 'the same address on two cluster members: no PTR, since it could name the wrong instance')
      this.#shared.set(owner, ptrs.map((m) => m.key))
      return []
    }
    this.#shared.delete(owner)
    this.#noteConflicts(owner, ptrs[0], ptrs.slice(1), 'the first by project/name keeps it')
    if (ptrs.length > 0) return [{ name: owner, ttl, data: { type: 'PTR', target: (ptrs[0] as Mapped).hostname as Name } }]
    return []
  }

  /**
   * An SRV owner's records: below a hostname, that instance's own SRV of this service and protocol; below a
   * service name no instance holds, one per served replica that declares it. Targets are instance hostnames.
   */
  #srvRecords(owner: Name, claimants: readonly Mapped[]): Rec[] {
    const base = srvBase(owner)
    const [service, proto] = owner.slice(0, owner.length - base.length - 1).split('.').map((l) => l.slice(1))
    const host = this.hostnameWinner(base)
    let from: readonly Mapped[]
    if (host !== null) from = claimants.filter((m) => m.key === host)
    else {
      const replicas = this.#claims.claimants(base, 'service').sort(this.#compare)
      const served = new Set(selectService(replicas.map((k) => this.settled(k) as Mapped)).served.map((m) => m.key))
      from = claimants.filter((m) => served.has(m.key))
    }
    const ttl = this.#settings.ttl
    const recs: Rec[] = []
    for (const m of from) {
      for (const s of m.srv ?? []) {
        if (s.service !== service || s.proto !== proto) continue
        recs.push({ name: owner, ttl, data: { type: 'SRV', priority: s.priority, weight: s.weight, port: s.port, target: m.hostname as Name } })
      }
    }
    return recs
  }

  /**
   * A name Caddy routes: the proxy's addresses (this view's, when the proxy is an instance), or in cname mode a
   * CNAME to the proxy instance; nothing while the proxy instance publishes nothing.
   */
  #proxyRecords(owner: Name): Rec[] {
    const proxy = this.#settings.caddyProxy as CaddyProxy
    const { ttl } = this.#settings
    if ('addresses' in proxy) return proxy.addresses.map((address) => ({ name: owner, ttl, data: address.includes(':') ? { type: 'AAAA', address } : { type: 'A', address } }))
    const p = this.settled(proxy.instance)
    if (p === undefined || p.skipped !== null || p.hostname === null) return []
    if (this.#settings.targetMode === 'cname') return [{ name: owner, ttl, data: { type: 'CNAME', target: p.hostname } }]
    return this.#addressRecords(owner, [p], null)
  }

  #addressRecords(owner: Name, from: readonly Mapped[], cname: Name | null): Rec[] {
    const ttl = this.#settings.ttl
    if (cname !== null) return [{ name: owner, ttl, data: { type: 'CNAME', target: cname } }]
    const recs: Rec[] = []
    for (const m of from) if (m.ipv4 !== null) recs.push({ name: owner, ttl, data: { type: 'A', address: m.ipv4 } })
    for (const m of from) if (m.ipv6 !== null) recs.push({ name: owner, ttl, data: { type: 'AAAA', address: m.ipv6 } })
    return recs
  }

  /**
   * Reports the instances that newly lost `owner` to `winner` by `rule`; forgets those that no longer claim it.
   * Losers between equals and losers to another kind of claim (a service to a hostname) are kept apart.
   */
  #noteConflicts(owner: Name, winner: Mapped | undefined, losers: readonly Mapped[], rule: string, kind: 'same' | 'other' = 'same'): void {
    const at = kind === 'same' ? owner : `${owner} ${kind}`
    const before = this.#losers.get(at)
    const now = new Set(losers.map((m) => m.key))
    for (const m of losers) {
      if (before?.has(m.key) === true) continue
      this.conflicts++
      this.#events.conflict(owner, (winner as Mapped).key, m.key, rule)
    }
    if (now.size === 0) this.#losers.delete(at)
    else this.#losers.set(at, now)
  }
}

/** The name an SRV owner is below: `_http._tcp.web.x` → `web.x`. */
function srvBase(owner: Name): Name {
  return owner.slice(owner.indexOf('.', owner.indexOf('.') + 1) + 1)
}

function sameRecords(a: readonly Rec[], b: readonly Rec[]): boolean {
  return a.length === b.length && JSON.stringify(a) === JSON.stringify(b)
}
