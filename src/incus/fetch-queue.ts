/**
 * @module incus/fetch-queue
 * The instances waiting to be read from Incus one by one (after a lifecycle event, or by the address watch),
 * served within the process's request budget (request-budget.ts), events first. When more are waiting than
 * the budget serves in a second, one listing of every instance with its state replaces their GETs: at 10k
 * instances that is one request instead of 10k (the source's full sync, read off the answering thread). Any
 * full sync, periodic or not, answers every request queued before it started.
 */
import type { RequestBudget } from './request-budget.ts'

/** Why an instance is read: a lifecycle event (served first), or the address watch. */
export type FetchWhy = 'event' | 'address'

export interface FetchQueueOptions {
  readonly budget: RequestBudget
  /** Reads one instance and applies it; true when Incus answered. */
  readonly fetch: (key: string, why: FetchWhy) => Promise<boolean>
  /** Starts a full sync (a listing of every instance with its state); its end comes back through `listed`. */
  readonly list: () => void
  /** Whether a full sync is running now. */
  readonly listing: () => boolean
  /** The least time (ms) from the end of the last full sync before another one replaces GETs. */
  readonly listingGap: () => number
}

/** Requests a listing answers per event-loop turn. */
const ANSWER_SLICE = 500

interface Waiting {
  why: FetchWhy
  /** When it was first queued (ms, performance.now()): a sync that started later answers it. */
  readonly since: number
  readonly waiters: ((ok: boolean) => void)[]
}

export class FetchQueue {
  readonly #o: FetchQueueOptions
  /** Events first, then the address watch; each in the order queued. */
  readonly #events = new Map<string, Waiting>()
  readonly #addresses = new Map<string, Waiting>()
  #inFlight = 0
  #timer: NodeJS.Timeout | null = null
  #pumpScheduled = false
  #lastListingEnd = -Infinity
  #stopped = false
  /** GETs sent, and listings asked for instead of GETs. */
  readonly sent = { event: 0, address: 0, listings: 0 }

  constructor(options: FetchQueueOptions) {
    this.#o = options
  }

  /** Instances waiting to be read. */
  get waiting(): number { return this.#events.size + this.#addresses.size }

  /**
   * Queues `key` to be read; `done` is called when it has been (true), or when reading it failed (false). A
   * callback: the address watch asks this of every instance it polls, and at 10k a promise each was memory.
   */
  ask(key: string, why: FetchWhy, done?: (ok: boolean) => void): void {
    if (this.#stopped) { done?.(false); return }
    const queued = this.#events.get(key) ?? this.#addresses.get(key)
    if (queued !== undefined) {
      if (done !== undefined) queued.waiters.push(done)
      if (why === 'event' && queued.why === 'address') { this.#addresses.delete(key); queued.why = 'event'; this.#events.set(key, queued) }
    } else {
      (why === 'event' ? this.#events : this.#addresses).set(key, { why, since: performance.now(), waiters: done === undefined ? [] : [done] })
    }
    this.#schedule()
  }

  /** `ask`, as a promise. */
  request(key: string, why: FetchWhy): Promise<boolean> {
    return new Promise((resolve) => this.ask(key, why, resolve))
  }

  /**
   * A full sync that started at `startedAt` (performance.now()) ended: it answers every request queued before,
   * a slice of them per event-loop turn (10k at once held answers up for ~10 ms).
   */
  listed(startedAt: number, ok: boolean): void {
    this.#lastListingEnd = performance.now()
    const answered: ((ok: boolean) => void)[] = []
    for (const queue of [this.#events, this.#addresses]) {
      for (const [key, w] of queue) {
        if (w.since > startedAt) continue
        queue.delete(key)
        answered.push(...w.waiters)
      }
    }
    const slice = (from: number): void => {
      const to = Math.min(answered.length, from + ANSWER_SLICE)
      for (let i = from; i < to; i++) (answered[i] as (ok: boolean) => void)(ok)
      if (to < answered.length) setImmediate(() => slice(to))
    }
    slice(0)
    this.#schedule()
  }

  stop(): void {
    this.#stopped = true
    if (this.#timer !== null) clearTimeout(this.#timer)
    for (const queue of [this.#events, this.#addresses]) {
      for (const w of queue.values()) for (const r of w.waiters) r(false)
      queue.clear()
    }
  }

  #schedule(): void {
    if (this.#pumpScheduled || this.#stopped) return
    this.#pumpScheduled = true
    setImmediate(() => { this.#pumpScheduled = false; this.#pump() })
  }

  #pump(): void {
    if (this.#timer !== null) { clearTimeout(this.#timer); this.#timer = null }
    if (this.#stopped || this.waiting === 0) return
    const { budget } = this.#o
    if (this.waiting > budget.rate) {
      // More than a second of the budget: a listing reads them all at once, when the last one is far enough back.
      if (this.#o.listing()) return // its end answers them (listed)
      const due = this.#lastListingEnd + this.#o.listingGap() - performance.now()
      if (due <= 0) { this.sent.listings++; this.#o.list(); return }
      this.#wake(due)
    }
    // Meanwhile, or with few waiting: one GET each, within the budget, a second's worth in flight at most.
    while (this.waiting > 0 && this.#inFlight < budget.rate) {
      const wait = budget.take()
      if (wait > 0) { this.#wake(wait); return }
      const queue = this.#events.size > 0 ? this.#events : this.#addresses
      const [key, w] = queue.entries().next().value as [string, Waiting]
      queue.delete(key)
      this.#inFlight++
      this.sent[w.why]++
      void this.#o.fetch(key, w.why).then((ok) => ok, () => false).then((ok) => {
        this.#inFlight--
        for (const r of w.waiters) r(ok)
        this.#schedule()
      })
    }
  }

  #wake(ms: number): void {
    if (this.#timer !== null && ms >= 0) clearTimeout(this.#timer)
    this.#timer = setTimeout(() => { this.#timer = null; this.#pump() }, Math.max(1, ms))
    this.#timer.unref()
  }
}
