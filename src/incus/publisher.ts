/**
 * @module incus/publisher
 * Applies what Incus said of instances (a sync's differences, a re-read, a state file) to the records of every
 * view, all changes of one event-loop turn in one zone batch, and says what changed: one line at info when an
 * instance's names or addresses change, at debug when it is published again with the same ones (a health
 * flip, a status), and lists in lines cut to their first few items (an instance may have 10k aliases).
 */
import type { Logger } from 'pino'
import { few } from '../log.ts'
import type { ZoneWriter } from '../zone/zone-writer.ts'
import type { AddressWatcher } from './address-watch.ts'
import type { PublishLag } from './lag.ts'
import type { Mapped } from './naming/map.ts'
import type { ViewRecords } from './naming/view-records.ts'

export interface PublisherOptions {
  readonly viewRecords: ViewRecords
  /** Where the default view's instance records go. */
  readonly zone: ZoneWriter
  readonly log: Logger
  readonly lag: PublishLag
  readonly addresses: AddressWatcher
  /** Called after each batch (the state file is written a second later). */
  readonly applied: () => void
}

export class Publisher {
  readonly #o: PublisherOptions
  readonly #pending = new Map<string, Mapped | null>()
  #scheduled = false

  constructor(options: PublisherOptions) { this.#o = options }

  /** Collects changes; they are applied together at the end of this event-loop turn (one zone batch). */
  queue(changes: ReadonlyMap<string, Mapped | null>): void {
    for (const [k, m] of changes) this.#pending.set(k, m)
    if (this.#scheduled) return
    this.#scheduled = true
    setImmediate(() => this.flush())
  }

  /** Applies what is queued now. */
  flush(): void {
    this.#scheduled = false
    if (this.#pending.size === 0) return
    const { viewRecords, log, lag, addresses } = this.#o
    const changes = new Map(this.#pending)
    this.#pending.clear()
    for (const [k, m] of changes) {
      const before = viewRecords.default.instances.get(k)
      if (m === null) { if (before !== undefined) log.info({ instance: k }, 'instance gone; names removed'); continue }
      if (m.skipped !== null) log.debug({ instance: k, reason: m.skipped }, 'instance publishes no records')
      else if (before === undefined || !sameMapped(before, m)) {
        const fields = { instance: k, name: m.hostname, aliases: few(m.aliases), ...(m.aliases.length > 5 ? { aliasCount: m.aliases.length } : {}), ipv4: m.ipv4, ipv6: m.ipv6 }
        if (before === undefined || before.skipped !== null || !sameNames(before, m)) log.info(fields, 'instance published')
        else log.debug(fields, 'instance published again; no name or address changed')
      }
      if (m.warning !== undefined && m.warning !== before?.warning) log.warn({ instance: k, problem: m.warning }, 'instance configuration problem')
    }
    const written = new Set(viewRecords.apply(this.#o.zone, changes))
    const now = Date.now()
    lag.settled(changes, written, now)
    for (const [k, m] of changes) {
      if (m === null) addresses.forget(k)
      else if (m.awaitingAddress !== false) {
        // Still waiting for an address, and no event will say when it comes: its lag counts from this look.
        lag.looked(k, now)
        addresses.watch(k)
      } else addresses.reset(k)
    }
    this.#o.applied()
  }
}

export function sameMapped(a: Mapped, b: Mapped): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

/** The same names (hostname, wildcard, service, aliases, SRV) and addresses: what a query can tell apart. */
function sameNames(a: Mapped, b: Mapped): boolean {
  return a.hostname === b.hostname && a.ipv4 === b.ipv4 && a.ipv6 === b.ipv6 && a.wildcard === b.wildcard && a.service === b.service &&
    a.aliases.length === b.aliases.length && a.aliases.every((x, i) => x === b.aliases[i]) && JSON.stringify(a.srv) === JSON.stringify(b.srv) &&
    JSON.stringify(a.addresses) === JSON.stringify(b.addresses)
}
