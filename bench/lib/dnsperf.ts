/**
 * Runs dnsperf (Debian package `dnsperf`) and reads its numbers. Throughput runs are plain; latency runs use
 * `-v` (one line per query) at a fixed rate, so percentiles compare servers at the same load.
 */
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface PerfResult {
  readonly qps: number
  readonly sent: number
  readonly lost: number
  /** Milliseconds; NaN for throughput runs. */
  readonly p50: number
  readonly p99: number
}

export function haveDnsperf(): Promise<boolean> {
  return run('dnsperf', ['-h']).then(() => true, (err: NodeJS.ErrnoException) => err.code !== 'ENOENT')
}

let files = 0
/** Writes dnsperf's input: one `name type` per line. */
export function queryFile(lines: readonly string[]): string {
  const path = join(tmpdir(), `incus-dns-bench-${process.pid}-${files++}.txt`)
  writeFileSync(path, lines.join('\n') + '\n')
  return path
}

export interface PerfOptions {
  readonly port: number
  readonly file: string
  readonly seconds: number
  readonly host?: string
  readonly tcp?: boolean
  /** Queries outstanding (dnsperf -q). */
  readonly outstanding?: number
  /** Fixed rate for a latency run (dnsperf -Q); undefined: as fast as it goes. */
  readonly rate?: number
  readonly latency?: boolean
  /** More dnsperf arguments, e.g. ['-D'] for DO. */
  readonly extra?: readonly string[]
}

export async function dnsperf(o: PerfOptions): Promise<PerfResult> {
  const args = ['-s', o.host ?? '127.0.0.1', '-p', String(o.port), '-d', o.file, '-l', String(o.seconds), '-c', '4', '-q', String(o.outstanding ?? 100), '-t', '2']
  if (o.tcp === true) args.push('-m', 'tcp')
  if (o.rate !== undefined) args.push('-Q', String(o.rate))
  if (o.latency === true) args.push('-v')
  args.push(...(o.extra ?? []))
  // BENCH_EDNS=1: every query carries an OPT record (dnsperf -e), as resolvers send them; default: plain.
  if (process.env.BENCH_EDNS === '1') args.push('-e')
  const { stdout } = await run('dnsperf', args, { maxBuffer: 512 * 1024 * 1024 })
  const num = (re: RegExp): number => Number(re.exec(stdout)?.[1] ?? NaN)
  let p50 = NaN
  let p99 = NaN
  if (o.latency === true) {
    const lat: number[] = []
    for (const line of stdout.split('\n')) {
      if (!line.startsWith('> ')) continue
      const v = Number(line.slice(line.lastIndexOf(' ') + 1))
      if (Number.isFinite(v)) lat.push(v * 1000)
    }
    lat.sort((a, b) => a - b)
    p50 = lat[Math.floor(lat.length * 0.5)] ?? NaN
    p99 = lat[Math.floor(lat.length * 0.99)] ?? NaN
  }
  return { qps: num(/Queries per second:\s+([\d.]+)/), sent: num(/Queries sent:\s+(\d+)/), lost: num(/Queries lost:\s+(\d+)/), p50, p99 }
}
