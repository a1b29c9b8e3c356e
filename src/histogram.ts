/**
 * @module histogram
 * A Prometheus-style histogram kept as plain numbers: counts per bucket (the last one +Inf), their sum and
 * count. Bumped where things happen (one loop over a few bounds, no allocation) and turned into metrics text
 * only when scraped (http/metrics.ts). Shared by the DNS answer latency and the Incus publish lag.
 */

export interface Histogram {
  /** Observations per bucket, not cumulative; one more than the bounds (+Inf). */
  readonly counts: Float64Array
  sum: number
  count: number
}

export function newHistogram(bounds: readonly number[]): Histogram {
  return { counts: new Float64Array(bounds.length + 1), sum: 0, count: 0 }
}

export function observe(h: Histogram, bounds: readonly number[], value: number): void {
  let b = 0
  while (b < bounds.length && value > (bounds[b] as number)) b++
  h.counts[b] = (h.counts[b] as number) + 1
  h.sum += value
  h.count++
}

/** Adds `from` into `into` (summing worker threads). */
export function addInto(into: Histogram, from: Histogram): void {
  from.counts.forEach((v, i) => { into.counts[i] = (into.counts[i] as number) + v })
  into.sum += from.sum
  into.count += from.count
}
