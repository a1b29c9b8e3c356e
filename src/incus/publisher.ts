/**
 * @module incus/publisher
 * Applies what Incus said of instances (a sync's differences, a re-read, a state file) to the records of every
 * view, the changes of one event-loop turn in one zone batch, at most APPLY_CHUNK instances a turn (a first sync
 * of 10k instances in one batch held answers up for over a second), and says what changed: one line at info when an
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

/** Most instances applied in one zone batch, per event-loop turn, when changes are queued or drained. */
export const APPLY_CHUNK = 64

export class Publisher {
  readonly #o: PublisherOptions
  readonly #pending = new Map<string, Mapped | null>()
  #scheduled = false
  /** Called when everything queued is applied (drain()). */
  #drained: (() => void)[] = []

  constructor(options: PublisherOptions) { this.#o = options }

  /** Collects changes; they are applied together at the end of this event-loop turn (one zone batch). */
  queue(changes: ReadonlyMap<string, Mapped | null>): void {
    for (const [k, m] of changes) this.#pending.set(k, m)
    this.#schedule()
  }

  #schedule(): void {
    if (this.#scheduled) return
    this.#scheduled = true
    setImmediate(() => {
      this.#scheduled = false
      this.flush(APPLY_CHUNK)
      if (this.#pending.size > 0) this.#schedule()
      else for (const done of this.#drained.splice(0)) done()
    })
  }

  /**
   * Applies everything queued, APPLY_CHUNK instances a turn, answers served between; resolves when it is all
   * applied. A later change to an instance still waiting replaces it (the newest wins, as within a batch).
   */
  drain(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve()
    const done = new Promise<void>((resolve) => this.#drained.push(resolve))
    this.#schedule()
    return done
  }

  /** Applies what is queued now: all of it, or the first `limit` instances. */
  flush(limit = Infinity): void {
    if (this.#pending.size === 0) return
    const { viewRecords, log, lag, addresses } = this.#o
    const changes = new Map<string, Mapped | null>()
    for (const [k, m] of this.#pending) {
      if (changes.size >= limit) break
      changes.set(k, m)
    }
    for (const k of changes.keys()) this.#pending.delete(k)
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
