/**
 * The status page's graphs: quantiles of what a histogram counted between two readings, the 15-minute ring
 * (rates per second by rcode, p50/p99, bounded at 90 samples), and the SVG they are drawn as.
 */
import { describe, expect, it } from 'vitest'
import { DnsStats, LATENCY_BUCKETS } from '../../../src/dns/stats.ts'
import { newHistogram, observe, quantileBound, quantileSince, snapshot } from '../../../src/histogram.ts'
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

describe('quantileBound (issue 26, 12)', () => {
  it("says the bucket's upper bound, not an interpolated value; +Inf past the last bound; null when nothing was counted", () => {
    const bounds = [0.00005, 0.0001, 0.00025]
    const h = newHistogram(bounds)
    for (let i = 0; i < 98; i++) observe(h, bounds, 0.00003)
    observe(h, bounds, 0.00008)
    observe(h, bounds, 0.00009)
    // Interpolation would say p99 = 99 µs; what the buckets say is "≤ 100 µs".
    expect(quantileSince(h, null, bounds, 0.99)).toBeCloseTo(0.0000975)
    expect(quantileBound(h, null, bounds, 0.99)).toBe(0.0001)
    expect(quantileBound(h, null, bounds, 0.5)).toBe(0.00005)
    observe(h, bounds, 5)
    expect(quantileBound(h, null, bounds, 1)).toBe(Infinity)
    expect(quantileBound(h, snapshot(h), bounds, 0.5)).toBeNull()
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
    expect(s?.p50).toBe(LATENCY_BUCKETS[4]) // 200 µs is in the (100, 250] bucket: ≤ 250 µs, what was measured
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

  it('a log scale keeps the steady microseconds readable beside one 2.3 ms sample: decades labelled, the outlier at its place (issue 26, 12)', () => {
    const fmt = (v: number): string => (v < 0.001 ? `${Math.round(v * 1e6)} µs` : `${v * 1000} ms`)
    const times = Array.from({ length: 20 }, (_, i) => i * 10_000)
    const p50 = times.map((_, i) => (i === 0 ? 0.0023 : 0.000011))
    const p99 = times.map(() => 0.00025)
    const svg = lineChart('Latency', times, [{ name: 'p50', color: '#27c', values: p50 }, { name: 'p99', color: '#c27', values: p99 }], fmt, 190_000, 190_000, { log: { floor: 0.00001 }, legendPrefix: '≤ ' })
    for (const label of ['10 µs', '100 µs', '1 ms', '10 ms']) expect(svg).toContain(`>${label}</text>`)
    expect(svg).toContain('p99 ≤ 250 µs')
    // On a linear axis to 5 ms, 11 µs and 250 µs would both sit within 7 % of the baseline; here p99 is
    // well above p50 (y grows downwards: a smaller y is higher).
    const ys = (name: string): number[] => {
      const m = new RegExp(`stroke="${name === 'p50' ? '#27c' : '#c27'}"[^>]*points="([^"]+)"`).exec(svg)
      return (m?.[1] ?? '').split(' ').map((p) => Number(p.split(',')[1]))
    }
    const [top, bottom] = [22, 22 + 150 - 22 - 20]
    const span = bottom - top
    expect(bottom - (ys('p99')[5] as number)).toBeGreaterThan(span * 0.35)
    expect(bottom - (ys('p50')[5] as number)).toBeLessThan(span * 0.1)
    expect(bottom - (ys('p50')[0] as number)).toBeGreaterThan(span * 0.5)
  })
})
