/**
 * @module zone/view-stores
 * Split horizon's zones: one store per view besides the default one. What every view shares (the zone files,
 * dynamic updates, the SOA and NS of the zones we make up) is written through this writer into every store; what differs (the
 * instances' addresses and PTRs) is written into each view's own store by the Incus source. A whole store per
 * view rather than per-view overrides of a few names: a CNAME chain, an MX's additional section or a wildcard
 * read other names, and the store already works out which entries read what (store.ts); an overlay would have
 * to do that again across views. The cost is memory, one answer table per view (docs/split-horizon.md).
 */
import type { ZoneStore } from './store.ts'
import type { ZoneWriter } from './zone-writer.ts'
import type { Name, Rec, SourceId } from './types.ts'

export class ViewStores implements ZoneWriter {
  /** The default view's store: zone transfers, NOTIFY, /zone and the status page read this one. */
  readonly default: ZoneStore
  readonly #views = new Map<string, ZoneStore>()
  readonly #make: () => ZoneStore
  /** Owners the Incus source wrote here, for every view (its generated apexes), to fill a new view's store. */
  readonly #sharedIncus = new Set<Name>()

  constructor(defaultStore: ZoneStore, make: () => ZoneStore) {
    this.default = defaultStore
    this.#make = make
  }

  /** The store of a view other than the default, when it exists. */
  store(view: string): ZoneStore | undefined { return this.#views.get(view) }

  /** The views other than the default, by name. */
  get named(): ReadonlyMap<string, ZoneStore> { return this.#views }

  /**
   * Makes the stores of the views named that are new, filled with what every view shares, and drops the
   * stores of views not named. Returns the names added and removed.
   */
  reconcile(names: readonly string[]): { added: string[]; removed: string[] } {
    const wanted = new Set(names)
    const removed = [...this.#views.keys()].filter((n) => !wanted.has(n))
    for (const n of removed) this.#views.delete(n)
    const added: string[] = []
    for (const name of wanted) {
      if (this.#views.has(name)) continue
      const store = this.#make()
      store.batch(() => {
        // Zone files first: they hold the apexes, outside of which nothing can be written; then the catalog (its own
        // apex first: namesOf keeps the order written), dynamic updates, Incus.
        for (const owner of this.default.namesOf('file')) store.setOwner('file', owner, this.default.recordsOf('file', owner) ?? [])
        for (const owner of this.default.namesOf('catalog')) store.setOwner('catalog', owner, this.default.recordsOf('catalog', owner) ?? [])
        for (const owner of this.default.namesOf('update')) store.setOwner('update', owner, this.default.recordsOf('update', owner) ?? [])
        for (const owner of this.#sharedIncus) store.setOwner('incus', owner, this.default.recordsOf('incus', owner) ?? [])
      })
      this.#views.set(name, store)
      added.push(name)
    }
    return { added, removed }
  }

  // ---- ZoneWriter: every view ----

  setOwner(source: SourceId, name: Name, recs: readonly Rec[]): void {
    // The default store first: it refuses a bad name or record before any view has taken it.
    this.default.setOwner(source, name, recs)
    if (source === 'incus') {
      if (recs.length > 0) this.#sharedIncus.add(name)
      else this.#sharedIncus.delete(name)
    }
    for (const store of this.#views.values()) store.setOwner(source, name, recs)
  }

  removeOwner(source: SourceId, name: Name): void {
    this.setOwner(source, name, [])
  }

  batch(apply: () => void): void {
    // Nested batches, so that every store recompiles once when `apply` is done.
    const stores = [this.default, ...this.#views.values()]
    const run = (i: number): void => {
      if (i === stores.length) apply()
      else (stores[i] as ZoneStore).batch(() => run(i + 1))
    }
    run(0)
  }

  zoneOf(name: Name): Name | null { return this.default.zoneOf(name) }
  recordsOf(source: SourceId, name: Name): readonly Rec[] | null { return this.default.recordsOf(source, name) }
  namesOf(source: SourceId): Name[] { return this.default.namesOf(source) }
}
