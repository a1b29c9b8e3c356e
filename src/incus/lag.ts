/**
 * @module incus/lag
 * The change-to-published lag: its histogram's buckets, apart from the source so that /metrics can read them
 * without loading the Incus client (undici, ws) when Incus is not configured, and what each instance waits for.
 */
import { addInto, newHistogram, observe } from '../histogram.ts'
import type { Histogram } from '../histogram.ts'
import type { Name } from '../zone/types.ts'
import type { Mapped } from './naming/map.ts'

/** Upper bounds (seconds) of the change-to-published lag histogram. */
export const LAG_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const
export type LagVia = 'event' | 'address'

/**
 * From an Incus change to its names being published, per instance: since when a change is pending and how it
 * was learnt (a lifecycle event's own timestamp, or, as addresses arrive with no event, the last look that did
 * not see the address yet), observed into a histogram per way when a batch writes the instance's names.
 */
export class PublishLag {
  readonly histograms: Record<LagVia, Histogram> = { event: newHistogram(LAG_BUCKETS), address: newHistogram(LAG_BUCKETS) }
  readonly #since = new Map<string, { at: number; via: LagVia }>()

  /** A change of `key` learnt at `at` (ms), unless an earlier one is still pending. */
  pending(key: string, at: number, via: LagVia): void {
    if (!this.#since.has(key)) this.#since.set(key, { at, via })
  }

  /** Still waiting for an address: its lag is counted from this look (each poll of the address watch is one). */
  looked(key: string, at: number): void {
    this.#since.set(key, { at, via: 'address' })
  }

  /** After a batch: the lag of each changed instance whose names it wrote; the rest that have nothing to publish are forgotten. */
  settled(changes: ReadonlyMap<string, Mapped | null>, written: ReadonlySet<Name>, now: number): void {
    for (const [k, m] of changes) {
      const since = this.#since.get(k)
      if (since === undefined) continue
      const published = written.size > 0 && (m === null || m.hostname === null || written.has(m.hostname) || m.aliases.some((a) => written.has(a)) ||
        (m.service !== undefined && written.has(m.service)))
      if (published) { observe(this.histograms[since.via], LAG_BUCKETS, (now - since.at) / 1000); this.#since.delete(k) }
      else if (m === null || m.awaitingAddress === false) this.#since.delete(k) // nothing to publish after all
    }
  }
}

/** The lag histograms of several sources, for the ways given, added into one (metrics, the status graphs). */
export function sumLag(lags: readonly Record<LagVia, Histogram>[], vias: readonly LagVia[]): Histogram {
  const h = newHistogram(LAG_BUCKETS)
  for (const lag of lags) for (const via of vias) addInto(h, lag[via])
  return h
}
