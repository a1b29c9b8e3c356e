/**
 * @module cli/view-host
 * Wires split horizon together: the Incus source resolves the views (incus/naming/view-records.ts) and hands them here;
 * this makes or drops each view's zone store (zone/view-stores.ts) and points the hot path's client prefixes at
 * their tables (dns/view-table.ts), in this thread and in the worker threads.
 */
import type { ViewSpec } from '../config/view-specs.ts'
import type { View, Views } from '../dns/view-table.ts'
import type { ResolvedView, ViewHost } from '../incus/naming/view-records.ts'
import type { ZoneWriter } from '../zone/store.ts'
import type { ZoneViews } from '../zone/view-stores.ts'

export interface ViewParts {
  readonly specs: readonly ViewSpec[]
  readonly zones: ZoneViews
  readonly views: Views
  /** Called after the views or their prefixes changed (the worker threads' replicas follow). */
  readonly changed: () => void
}

export function viewHost(c: ViewParts): ViewHost {
  let last = ''
  return {
    specs: c.specs,
    defaultZone: c.zones.default,
    setViews(resolved: readonly ResolvedView[]): ReadonlyMap<string, ZoneWriter> {
      c.zones.reconcile(resolved.map((v) => v.name))
      const writers = new Map<string, ZoneWriter>()
      const known = new Map(c.views.all.map((v) => [v.name, v]))
      const list: View[] = []
      const prefixes: { cidr: string; view: View }[] = []
      for (const r of resolved) {
        const store = c.zones.store(r.name)
        if (store === undefined) continue
        writers.set(r.name, store)
        // The same view object while its table lives, so that its query count carries on.
        const had = known.get(r.name)
        const view = had !== undefined && had.table === store.table ? had : { name: r.name, table: store.table, queries: 0 }
        list.push(view)
        for (const cidr of r.clients) prefixes.push({ cidr, view })
      }
      const key = JSON.stringify([list.map((v) => v.name), prefixes.map((p) => [p.cidr, p.view.name])])
      if (key !== last || list.some((v) => !c.views.all.includes(v))) {
        last = key
        c.views.set(list, prefixes)
        c.changed()
      }
      return writers
    },
  }
}
