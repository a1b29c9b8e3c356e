/**
 * @module http/history
 * The last 15 minutes for the status page's graphs, kept in a fixed ring in memory: every 10 s, the responses
 * per second by rcode, the answer latency's p50 and p99, and the Incus publish lag's p99 over those 10 s (as the
 * histogram bucket bounds they fall under),
 * worked out from the same counters /metrics reads (summed over worker threads). 90 samples of a few numbers:
 * nothing grows.
 */
import { LATENCY_BUCKETS } from '../dns/stats.ts'
import type { DnsStats } from '../dns/stats.ts'
import { quantileBound, snapshot } from '../histogram.ts'
import type { Histogram } from '../histogram.ts'
import { LAG_BUCKETS } from '../incus/lag.ts'

/** The rcodes graphed, by their number. */
export const GRAPHED_RCODES = [['NOERROR', 0], ['NXDOMAIN', 3], ['REFUSED', 5], ['SERVFAIL', 2], ['FORMERR', 1]] as const

export interface Sample {
  /** ms since the epoch, at the end of the interval. */
  readonly at: number
  /** Responses per second over the interval, by GRAPHED_RCODES order. */
  readonly perSecond: readonly number[]
  /**
   * Answer latency over the interval (s): the upper bound of the histogram bucket the quantile is in (what
   * was measured: p99 ≤ 100 µs), Infinity past the last bound; null when nothing was answered.
   */
  readonly p50: number | null
  readonly p99: number | null
  /** Publish lag p99 over the interval (s), a bucket's upper bound as above; null when nothing was published. */
  readonly lagP99: number | null
}

export const SAMPLE_MS = 10_000
export const SAMPLES = 90

interface Reading { at: number; responses: Float64Array; latency: Histogram; lag: Histogram }

export class History {
  readonly #ring: (Sample | undefined)[] = new Array(SAMPLES)
  #next = 0
  #last: Reading | null = null
  readonly #read: () => { dns: DnsStats; lag: Histogram | null }

  /** `read`: the counters now (DNS totals over threads; the Incus publish lag, if Incus is configured). */
  constructor(read: () => { dns: DnsStats; lag: Histogram | null }) {
    this.#read = read
  }

  /** Takes a sample: what changed since the previous one (the first call only sets the start). */
  sample(now = Date.now()): void {
    const { dns, lag } = this.#read()
    const reading: Reading = { at: now, responses: Float64Array.from(dns.responses), latency: snapshot(dns.latency), lag: lag === null ? { counts: new Float64Array(LAG_BUCKETS.length + 1), sum: 0, count: 0 } : snapshot(lag) }
    const last = this.#last
    this.#last = reading
    if (last === null) return
    const seconds = (now - last.at) / 1000
    if (seconds <= 0) return
    this.#ring[this.#next] = {
      at: now,
      perSecond: GRAPHED_RCODES.map(([, code]) => Math.max(0, ((reading.responses[code] ?? 0) - (last.responses[code] ?? 0)) / seconds)),
      p50: quantileBound(reading.latency, last.latency, LATENCY_BUCKETS, 0.5),
      p99: quantileBound(reading.latency, last.latency, LATENCY_BUCKETS, 0.99),
      lagP99: quantileBound(reading.lag, last.lag, LAG_BUCKETS, 0.99),
    }
    this.#next = (this.#next + 1) % SAMPLES
  }

  /** The samples, oldest first. */
  samples(): Sample[] {
    const out: Sample[] = []
    for (let i = 0; i < SAMPLES; i++) {
      const s = this.#ring[(this.#next + i) % SAMPLES]
      if (s !== undefined) out.push(s)
    }
    return out
  }
}
