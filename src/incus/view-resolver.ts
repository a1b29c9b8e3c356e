/**
 * @module incus/view-resolver
 * Resolves the configured views against Incus's networks at each sync and hands them on: to whoever runs
 * them (the view host: cli/view-host.ts makes a zone store per view and points the hot path's view table at
 * it) and to the records of each view. A change is logged once.
 */
import type { Logger } from 'pino'
import type { ZoneWriter } from '../zone/zone-writer.ts'
import type { Network } from './api/types.ts'
import type { ViewRecords } from './naming/view-records.ts'
import { resolveViews } from './naming/view-ranges.ts'
import type { ResolvedView, ViewSpec } from './naming/view-ranges.ts'

/** What the Incus source needs of whoever runs the views (cli/main.ts: the stores and the hot path's tables). */
export interface ViewHost {
  readonly specs: readonly ViewSpec[]
  /** Where the default view's instance records go (the source's `zone` writes what every view shares). */
  readonly defaultZone: ZoneWriter
  /** The views as now resolved; returns each one's zone writer, made empty of instance records when new. */
  setViews(views: readonly ResolvedView[]): ReadonlyMap<string, ZoneWriter>
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
