/**
 * The status page's graphs: quantiles of what a histogram counted between two readings, the 15-minute ring
 * (rates per second by rcode, p50/p99, bounded at 90 samples), and the SVG they are drawn as.
 */
import { describe, expect, it } from 'vitest'
import { DnsStats, LATENCY_BUCKETS } from '../../../src/dns/stats.ts'
import { newHistogram, observe, quantileSince, snapshot } from '../../../src/histogram.ts'
import { lineChart, niceMax } from '../../../src/http/graphs.ts'
import { History, SAMPLES } from '../../../src/http/history.ts'

describe('quantileSince', () => {
  it('interpolates inside the bucket, over what was counted since the earlier reading only', () => {
    const bounds = [1, 2, 4]
    const h = newHistogram(bounds)
    for (let i = 0; i < 100; i++) observe(h, bounds, 3) // before: all in (2, 4]
    const before = snapshot(h)
    for (let i = 0; i < 100; i++) observe(h, bounds, 0.5) // since: all in (0, 1]
    expect(quantileSince(h, before, bounds, 0.5)).toBeCloseTo(0.5)
    expect(quantileSince(h, before, bounds, 0.99)).toBeCloseTo(0.99)
    expect(quantileSince(h, snapshot(h), bounds, 0.5)).toBeNull() // nothing since
    observe(h, bounds, 100)
    expect(quantileSince(h, before, bounds, 1)).toBe(4) // +Inf: its lower bound
  })
})

describe('History', () => {
  it('samples responses per second by rcode and the latency quantiles, oldest first, at most 90', () => {
    const dns = new DnsStats()
    const h = new History(() => ({ dns, lag: null }))
    h.sample(0)
    const resp = (rcode: number, n: number): void => { for (let i = 0; i < n; i++) { const head = Buffer.alloc(12); head[3] = rcode; dns.response(head) } }
    resp(0, 100); resp(3, 20)
    for (let i = 0; i < 120; i++) dns.observe(0.0002)
    h.sample(10_000)
    const [s] = h.samples()
    expect(s?.perSecond.slice(0, 3)).toEqual([10, 2, 0]) // NOERROR, NXDOMAIN, REFUSED per second over 10 s
    expect(s?.p50).toBeGreaterThan(LATENCY_BUCKETS[3] as number)
    expect(s?.p50).toBeLessThanOrEqual(LATENCY_BUCKETS[4] as number)
    expect(s?.lagP99).toBeNull()
    for (let t = 2; t < 200; t++) h.sample(t * 10_000)
    const all = h.samples()
    expect(all).toHaveLength(SAMPLES)
    expect(all[0]?.at).toBeLessThan(all.at(-1)?.at as number)
  })
})

describe('lineChart', () => {
  it('an SVG with a polyline per series, gaps where there is no value, and the legend with the latest', () => {
    const svg = lineChart('Latency', [0, 10_000, 20_000, 30_000], [
      { name: 'p50', color: '#27c', values: [0.001, 0.002, null, 0.003] },
      { name: 'p99', color: '#c27', values: [0.01, 0.02, 0.03, 0.04] },
    ], (v) => `${v * 1000} ms`, 30_000, 30_000)
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    expect((svg.match(/<polyline /g) ?? []).length).toBe(2) // p99 whole; p50's first run (its last value is a dot)
    expect(svg).toContain('<circle ')
    expect(svg).toContain('p99 40 ms')
    expect(svg).not.toContain('<script')
    expect(niceMax(0.037)).toBe(0.05)
    expect(niceMax(0)).toBe(1)
  })
})
