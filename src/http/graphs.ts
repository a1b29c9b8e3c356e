/**
 * @module http/graphs
 * Line charts as inline SVG, drawn on the server for the status page: no JavaScript, nothing fetched. A
 * fixed 15-minute window ending now, a y axis from 0 to a round maximum (or, for latencies, a log scale by
 * decades, so that one slow sample does not flatten the steady microseconds onto the baseline), one polyline
 * per series (broken where a sample has no value), and a legend with each series' latest value.
 */
import { escapeHtml } from './html.ts'

export interface Series {
  readonly name: string
  readonly color: string
  /** One value per sample (null: none then), at the times given to the chart. */
  readonly values: readonly (number | null)[]
}

const W = 560
const H = 150
const LEFT = 52
const RIGHT = 8
const TOP = 22
const BOTTOM = 20

/** 1, 2 or 5 times a power of ten, at least `v`: an axis maximum people read at a glance. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1
  const p = 10 ** Math.floor(Math.log10(v))
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p
  return 10 * p
}

/** A log scale from `floor` up by decades: values at or under it sit on the baseline. */
export interface LogScale {
  readonly floor: number
}

/**
 * `format` writes a value with its unit (the axis and the legend); `legendPrefix` goes before the legend's
 * value (e.g. '≤ ' for bucket bounds). With `log`, the axis runs by decades from its floor to the first decade
 * at or above the largest value, each decade a gridline with its label.
 */
export function lineChart(title: string, times: readonly number[], series: readonly Series[], format: (v: number) => string, windowMs: number, now: number,
  options: { readonly log?: LogScale; readonly legendPrefix?: string } = {}): string {
  const plotW = W - LEFT - RIGHT
  const plotH = H - TOP - BOTTOM
  const values = series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)))
  const log = options.log
  const max = log === undefined ? niceMax(Math.max(0, ...values)) : Math.max(log.floor * 10, 10 ** Math.ceil(Math.log10(Math.max(log.floor, ...values))))
  const x = (t: number): number => LEFT + Math.max(0, Math.min(1, (t - (now - windowMs)) / windowMs)) * plotW
  const decades = log === undefined ? 0 : Math.round(Math.log10(max / log.floor))
  const y = log === undefined
    ? (v: number): number => TOP + plotH - (Math.min(v, max) / max) * plotH
    : (v: number): number => TOP + plotH - (Math.log10(Math.min(Math.max(v, log.floor), max) / log.floor) / decades) * plotH
  const grid = log === undefined
    ? `<line x1="${LEFT}" y1="${TOP + plotH / 2}" x2="${LEFT + plotW}" y2="${TOP + plotH / 2}" stroke="#eee"/>`
      + `<text x="${LEFT - 4}" y="${TOP + 4}" font-size="10" text-anchor="end">${escapeHtml(format(max))}</text>`
      + `<text x="${LEFT - 4}" y="${TOP + plotH}" font-size="10" text-anchor="end">0</text>`
    : Array.from({ length: decades + 1 }, (_, k) => {
      const v = log.floor * 10 ** k
      const at = y(v)
      return (k > 0 && k < decades ? `<line x1="${LEFT}" y1="${at.toFixed(1)}" x2="${LEFT + plotW}" y2="${at.toFixed(1)}" stroke="#eee"/>` : '')
        + `<text x="${LEFT - 4}" y="${(at + (k === decades ? 4 : 0)).toFixed(1)}" font-size="10" text-anchor="end">${escapeHtml(format(v))}</text>`
    }).join('')
  const lines = series.map((s) => {
    // Runs of consecutive values, each its own polyline: a gap where a sample had none.
    const runs: string[][] = [[]]
    s.values.forEach((v, i) => {
      if (v === null) { if ((runs.at(-1) as string[]).length > 0) runs.push([]); return }
      ;(runs.at(-1) as string[]).push(`${x(times[i] as number).toFixed(1)},${y(v).toFixed(1)}`)
    })
    return runs.filter((r) => r.length > 0).map((r) => r.length === 1
      ? `<circle cx="${r[0]?.split(',')[0]}" cy="${r[0]?.split(',')[1]}" r="2" fill="${s.color}"/>`
      : `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${r.join(' ')}"/>`).join('')
  }).join('')
  const legend = series.map((s, i) => {
    const last = [...s.values].reverse().find((v) => v !== null)
    const shown = last === undefined || last === null ? '–' : Number.isFinite(last) ? `${options.legendPrefix ?? ''}${format(last)}` : 'beyond the last bucket'
    return `<text x="${LEFT + i * 105}" y="${H - 4}" font-size="11" fill="${s.color}">${escapeHtml(s.name)} ${escapeHtml(shown)}</text>`
  }).join('')
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H + 12}" viewBox="0 0 ${W} ${H + 12}" role="img" aria-label="${escapeHtml(title)}">`
    + `<text x="${LEFT}" y="14" font-size="13" font-weight="bold">${escapeHtml(title)}</text>`
    + `<rect x="${LEFT}" y="${TOP}" width="${plotW}" height="${plotH}" fill="#fafafa" stroke="#ccc"/>`
    + grid
    + `<text x="${LEFT}" y="${TOP + plotH + 11}" font-size="10">-${Math.round(windowMs / 60000)} min</text>`
    + `<text x="${LEFT + plotW}" y="${TOP + plotH + 11}" font-size="10" text-anchor="end">now</text>`
    + lines + legend.replace(/y="\d+"/g, `y="${H + 8}"`) + '</svg>'
}
