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

/** Per bucket, what `now` counted since `before` (the same histogram read twice), and the rank of quantile `q`; null when nothing was counted. */
function since(now: Histogram, before: Histogram | null, q: number): { counts: number[]; rank: number } | null {
  const counts = Array.from(now.counts, (c, i) => c - (before?.counts[i] ?? 0))
  const total = counts.reduce((a, b) => a + b, 0)
  return total <= 0 ? null : { counts, rank: q * total }
}

/**
 * The q-quantile (0..1) of what `now` counted since `before` (the same histogram read twice), interpolated
 * linearly inside its bucket as Prometheus's histogram_quantile does; null when nothing was counted.
 */
export function quantileSince(now: Histogram, before: Histogram | null, bounds: readonly number[], q: number): number | null {
  const read = since(now, before, q)
  if (read === null) return null
  const { counts, rank } = read
  let seen = 0
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] as number
    if (seen + c >= rank && c > 0) {
      const lower = i === 0 ? 0 : (bounds[i - 1] as number)
      // The +Inf bucket has no upper bound: its lower bound is the best that can be said.
      if (i >= bounds.length) return lower
      return lower + ((bounds[i] as number) - lower) * ((rank - seen) / c)
    }
    seen += c
  }
  return bounds[bounds.length - 1] ?? null
}

/**
 * The upper bound of the bucket the q-quantile of what was counted since `before` falls in: what a histogram
 * can say without inventing (a p99 of "99 µs" interpolated in the 50-100 µs bucket says more than was
 * measured; "≤ 100 µs" does not). Infinity for the +Inf bucket; null when nothing was counted.
 */
export function quantileBound(now: Histogram, before: Histogram | null, bounds: readonly number[], q: number): number | null {
  const read = since(now, before, q)
  if (read === null) return null
  const { counts, rank } = read
  let seen = 0
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i] as number
    if (seen >= rank && (counts[i] as number) > 0) return i < bounds.length ? bounds[i] as number : Infinity
  }
  return Infinity
}

/** A copy to compare a later reading with. */
export function snapshot(h: Histogram): Histogram {
  return { counts: Float64Array.from(h.counts), sum: h.sum, count: h.count }
}
