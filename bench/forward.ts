/**
 * Forwarding benchmark: cache-hit qps through incus-dns (forwarding to knotd) vs asking knotd directly, in
 * alternation, with dnsperf. Prints the numbers and the ratio. Needs dnsperf and knotd (Debian: dnsperf, knot).
 */
import pino from 'pino'
import { start } from '../src/cli/main.ts'
import { loadConfig } from '../src/config/load.ts'
import { which } from '../test/helpers/binaries.ts'
import { startKnotd } from '../test/helpers/knotd.ts'
import { dnsperf, haveDnsperf, queryFile } from './lib/dnsperf.ts'

if (!(await haveDnsperf()) || which('knotd') === null) {
  console.log('forwarding benchmark skipped: needs dnsperf and knotd (apt-get install dnsperf knot)')
  process.exit(0)
}
const upstreamZones = new URL('../test/fixtures/zones/upstream/', import.meta.url).pathname
const knot = await startKnotd(upstreamZones, [{ domain: 'example.net', file: 'example.net.zone' }])
const { config } = loadConfig(['--listen', '127.0.0.1:0', '--zones-dir', new URL('../zones/', import.meta.url).pathname,
  '--incus-socket', 'none', '--forwarders', `127.0.0.1:${knot.port}`, '--log-level', 'silent'], {})
const running = await start(config, pino({ level: 'silent' }))
const port = running.server.addresses[0]?.port as number
const file = queryFile(['www.example.net A', 'www.example.net AAAA', 'alias.example.net A', 'ns1.example.net A'])
await dnsperf({ port, file, seconds: 1 }) // warms the cache
const seconds = Number(process.env.BENCH_SECONDS ?? 3)
const rows: { server: string; qps: number; lost: number }[] = []
for (let round = 0; round < 2; round++) {
  for (const [server, p] of [['incus-dns (cache hits)', port], ['knotd directly', knot.port]] as const) {
    const r = await dnsperf({ port: p, file, seconds })
    rows.push({ server, qps: Math.round(r.qps), lost: r.lost })
  }
}
const best = (s: string): number => Math.max(...rows.filter((r) => r.server === s).map((r) => r.qps))
console.log(`node ${process.version}, ${new Date().toISOString()}, dnsperf ${seconds}s runs, alternating`)
console.table(rows)
console.log(`forwarding cache hits: ${best('incus-dns (cache hits)')} qps = ${(best('incus-dns (cache hits)') / best('knotd directly')).toFixed(2)} x knotd answering directly; cache hits ${running.forwarder?.stats.cacheHits}, upstream queries ${running.forwarder?.stats.cacheMisses}`)
await running.stop()
await knot.stop()
