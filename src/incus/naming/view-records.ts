/**
 * @module incus/naming/view-records
 * Split horizon, the Incus side: the configured views resolved against Incus's networks, and each
 * instance's records per view. A view's clients see, of each instance, its first address of each family in
 * the view's ranges; an instance with no address there answers as in the default view (docs/split-horizon.md
 * says why). PTRs follow, since they are made from the addresses a view publishes.
 */
import type { Logger } from 'pino'
import { networkCidr } from '../../address.ts'
import type { ViewSpec } from '../../config/view-specs.ts'
import { Acl } from '../../address.ts'
import type { ZoneWriter } from '../../zone/store.ts'
import type { Name } from '../../zone/types.ts'
import type { Network } from '../api/types.ts'
import { firstAddresses } from './map.ts'
import type { Mapped } from './map.ts'
import { InstanceRecords } from './records.ts'
import type { RecordEvents, RecordSettings } from './records.ts'
import { networkSubnets } from './reverse.ts'

/** A view with every Incus network in it replaced by that network's subnets. */
export interface ResolvedView {
  readonly name: string
  /** Client prefixes (CIDRs). */
  readonly clients: readonly string[]
  /** The address ranges whose addresses its clients are given (CIDRs). */
  readonly sees: readonly string[]
  /** Networks the view names that Incus has not got (or that have no subnet), for the log and status page. */
  readonly missing: readonly string[]
}

/** What the Incus source needs of whoever runs the views (cli/main.ts: the stores and the hot path's tables). */
export interface ViewHost {
  readonly specs: readonly ViewSpec[]
  /** Where the default view's instance records go (the source's `zone` writes what every view shares). */
  readonly defaultZone: ZoneWriter
  /** The views as now resolved; returns each one's zone writer, made empty of instance records when new. */
  setViews(views: readonly ResolvedView[]): ReadonlyMap<string, ZoneWriter>
}

/** The subnets of a network as ranges: `10.42.0.1/24` → `10.42.0.0/24`. */
function subnetsOf(network: Network): string[] {
  return networkSubnets(network.config).map(networkCidr)
}

/** The views of the specs, given Incus's managed networks; `auto` gives one per network with a subnet. */
export function resolveViews(specs: readonly ViewSpec[], networks: readonly Network[]): ResolvedView[] {
  const byName = new Map(networks.filter((n) => n.managed).map((n) => [n.name, n]))
  const out: ResolvedView[] = []
  const explicit = new Set(specs.flatMap((s) => (s.kind === 'view' ? [s.name] : [])))
  for (const spec of specs) {
    if (spec.kind === 'auto') {
      // A view named like a network overrides the network's automatic one.
      for (const n of byName.values()) {
        const subnets = subnetsOf(n)
        if (subnets.length > 0 && !explicit.has(n.name)) out.push({ name: n.name, clients: subnets, sees: subnets, missing: [] })
      }
      continue
    }
    const missing: string[] = []
    const side = (cidrs: readonly string[], names: readonly string[]): string[] => [...cidrs, ...names.flatMap((name) => {
      const n = byName.get(name)
      const subnets = n === undefined ? [] : subnetsOf(n)
      if (subnets.length === 0 && !missing.includes(name)) missing.push(name)
      return subnets
    })]
    out.push({ name: spec.name, clients: side(spec.clients.cidrs, spec.clients.networks), sees: side(spec.sees.cidrs, spec.sees.networks), missing })
  }
  return out
}

/**
 * The instance as a view sees it: of its addresses, the first of each family in the view's ranges. When none
 * of them is, the default view's (the name still answers, as it did before views; never a mix of the two).
 */
export function inView(m: Mapped, sees: Acl): Mapped {
  if (m.addresses === undefined || m.skipped !== null) return m
  const { ipv4, ipv6 } = firstAddresses(m.addresses.filter((a) => sees.allows(a)))
  if (ipv4 === null && ipv6 === null) return m
  return ipv4 === m.ipv4 && ipv6 === m.ipv6 ? m : { ...m, ipv4, ipv6 }
}

/**
 * Resolves the configured views against Incus's networks at each sync, and hands them to the view host (stores,
 * hot path) and to the records; a change is logged once.
 */
export class ViewResolver {
  readonly #host: ViewHost | null
  readonly #records: ViewRecords
  readonly #log: Logger
  /** The views as last resolved, to log a change once. */
  #resolved = ''

  constructor(host: ViewHost | null, records: ViewRecords, log: Logger) {
    this.#host = host
    this.#records = records
    this.#log = log
  }

  /** `known`: false for networks from an old state file, whose views are not worth a log line. */
  apply(networks: readonly Network[], known = true): void {
    const host = this.#host
    if (host === null) return
    const views = resolveViews(host.specs, networks)
    this.#records.setViews(views, host.setViews(views))
    const key = JSON.stringify(views)
    if (key === this.#resolved || !known) return
    this.#resolved = key
    this.#log.info({ views: views.map((v) => ({ view: v.name, clients: v.clients, sees: v.sees })) }, 'split-horizon views')
    for (const v of views) {
      if (v.missing.length > 0) this.#log.warn({ view: v.name, networks: v.missing }, 'INCUS_DNS_VIEWS names Incus networks that do not exist or have no subnet; they add nothing to the view')
    }
  }
}

interface ViewState {
  readonly view: ResolvedView
  readonly ranges: Acl
  readonly records: InstanceRecords
  readonly zone: ZoneWriter
}

/** Conflicts and refused names are reported by the default view's records only: the others would repeat them. */
const QUIET: RecordEvents = { conflict: () => {}, rejected: () => {} }

/** The instances' records in every view: the default view's, and one InstanceRecords per configured view. */
export class ViewRecords {
  readonly default: InstanceRecords
  readonly #settings: RecordSettings
  #views = new Map<string, ViewState>()

  constructor(settings: RecordSettings, events: RecordEvents) {
    this.#settings = settings
    this.default = new InstanceRecords(settings, events)
  }

  /** The views other than the default, as resolved. */
  get views(): ResolvedView[] { return [...this.#views.values()].map((s) => s.view) }

  /** The instance as each view other than the default gives it. */
  perView(m: Mapped): { view: string; ipv4: string | null; ipv6: string | null }[] {
    return [...this.#views.values()].map((s) => { const v = inView(m, s.ranges); return { view: s.view.name, ipv4: v.ipv4, ipv6: v.ipv6 } })
  }

  /** Applies changed instances to every view; returns the owners the default view wrote. */
  apply(defaultZone: ZoneWriter, changes: ReadonlyMap<string, Mapped | null>): Name[] {
    const written = this.default.apply(defaultZone, changes)
    for (const s of this.#views.values()) s.records.apply(s.zone, project(changes, s.ranges))
    return written
  }

  /** Sets where PTRs may go, in every view; true when that changed (re-apply every instance then). */
  setReverseZones(zones: Iterable<Name>): boolean {
    const list = [...zones]
    for (const s of this.#views.values()) s.records.setReverseZones(list)
    return this.default.setReverseZones(list)
  }

  /**
   * Takes the views as now resolved, with each one's zone writer: a new view (or one whose ranges or zone
   * changed) gets every instance written into its zone; a view no longer there is forgotten.
   */
  setViews(views: readonly ResolvedView[], zones: ReadonlyMap<string, ZoneWriter>): void {
    const next = new Map<string, ViewState>()
    for (const view of views) {
      const zone = zones.get(view.name)
      if (zone === undefined) continue
      const old = this.#views.get(view.name)
      if (old !== undefined && old.zone === zone && sameList(old.view.sees, view.sees)) { next.set(view.name, { ...old, view }); continue }
      const ranges = new Acl(view.sees)
      const records = new InstanceRecords(this.#settings, QUIET)
      records.setReverseZones(this.default.reverseZones)
      // A store made for the view holds none of the instances; one reused (its ranges changed) loses the old ones.
      const all = new Map<string, Mapped | null>(this.default.instances)
      if (old !== undefined && old.zone === zone) old.records.apply(zone, new Map([...old.records.instances.keys()].map((k) => [k, null])))
      records.apply(zone, project(all, ranges))
      next.set(view.name, { view, ranges, records, zone })
    }
    this.#views = next
  }
}

function project(changes: ReadonlyMap<string, Mapped | null>, ranges: Acl): Map<string, Mapped | null> {
  const out = new Map<string, Mapped | null>()
  for (const [k, m] of changes) out.set(k, m === null ? null : inView(m, ranges))
  return out
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}
