/**
 * @module cli/view-host
 * Runs split horizon's views for the Incus source (the ViewHost of incus/view-resolver.ts): when the views
 * resolve anew, it makes or drops each view's zone store (zone/view-stores.ts) and points the hot path's view
 * table (dns/view-table.ts) at their answer tables, in this thread and in the worker threads.
 */
import type { ViewSpec } from '../incus/naming/view-ranges.ts'
import type { View, ViewTable } from '../dns/view-table.ts'
import type { ViewHost } from '../incus/view-resolver.ts'
import type { ResolvedView } from '../incus/naming/view-ranges.ts'
import type { ZoneWriter } from '../zone/zone-writer.ts'
import type { ViewStores } from '../zone/view-stores.ts'

export interface ViewParts {
  readonly specs: readonly ViewSpec[]
  readonly stores: ViewStores
  readonly table: ViewTable
  /** Called after the views or their prefixes changed (the worker threads' replicas follow). */
  readonly changed: () => void
}

export function viewHost(c: ViewParts): ViewHost {
  let last = ''
  return {
    specs: c.specs,
    defaultZone: c.stores.default,
    setViews(resolved: readonly ResolvedView[]): ReadonlyMap<string, ZoneWriter> {
      c.stores.reconcile(resolved.map((v) => v.name))
      const writers = new Map<string, ZoneWriter>()
      const known = new Map(c.table.all.map((v) => [v.name, v]))
      const list: View[] = []
      const prefixes: { cidr: string; view: View }[] = []
      for (const r of resolved) {
        const store = c.stores.store(r.name)
        if (store === undefined) continue
        writers.set(r.name, store)
        // The same view object while its table lives, so that its query count carries on.
        const had = known.get(r.name)
        const view = had !== undefined && had.table === store.table ? had : { name: r.name, table: store.table, queries: 0 }
        list.push(view)
        for (const cidr of r.clients) prefixes.push({ cidr, view })
      }
      const key = JSON.stringify([list.map((v) => v.name), prefixes.map((p) => [p.cidr, p.view.name])])
      if (key !== last || list.some((v) => !c.table.all.includes(v))) {
        last = key
        c.table.set(list, prefixes)
        c.changed()
      }
      return writers
    },
  }
}
