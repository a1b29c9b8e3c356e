/**
 * @module incus/naming/view-records
 * Split horizon, each instance's records per view. A view's clients see, of each instance, its first address
 * of each family in the view's ranges; an instance with no address there answers as in the default view
 * (docs/split-horizon.md says why). PTRs follow, since they are made from the addresses a view publishes.
 */
import { Acl } from '../../address.ts'
import type { ZoneWriter } from '../../zone/zone-writer.ts'
import type { Name } from '../../zone/types.ts'
import { firstAddresses } from './instance-addresses.ts'
import type { Mapped } from './map.ts'
import { InstanceRecords } from './records.ts'
import type { RecordEvents, RecordSettings } from './records.ts'
import type { ResolvedView } from './view-ranges.ts'

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
  get resolved(): ResolvedView[] { return [...this.#views.values()].map((s) => s.view) }

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
