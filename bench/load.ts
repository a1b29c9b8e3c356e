/**
 * The load suite (issue 5): dnsperf over loopback against, in one run and in alternation, incus-dns; a bare
 * node:dgram echo server on the same Node (the runtime's limit); a naive dns2 createServer + Map; dnsmasq and
 * knotd (one UDP worker) with the same names when installed. Reports qps, p50/p99 latency at a fixed rate,
 * lost queries, ratios to incus-dns; qps at 1k/10k/100k names; RSS per name; pipelined TCP. Bounded runs.
 * Installs nothing: says what is missing.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { which } from '../test/helpers/binaries.ts'
import { startKnotd } from '../test/helpers/knotd.ts'
import type { Knotd } from '../test/helpers/knotd.ts'
import { freePort, udpExchange, waitFor } from '../test/helpers/net.ts'
import { query } from '../test/helpers/packets.ts'
import { dnsperf, haveDnsperf, queryFile } from './lib/dnsperf.ts'
import type { PerfResult } from './lib/dnsperf.ts'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2)
const LATENCY_RATE = Number(process.env.BENCH_LATENCY_QPS ?? 10000)
const SIZES = (process.env.BENCH_SIZES ?? '1000,10000,100000').split(',').map(Number)
const MAIN_SIZE = Number(process.env.BENCH_MAIN_SIZE ?? 10000)
const SUFFIX = 'incus.example.org'
const NODE = process.execPath
const root = new URL('..', import.meta.url).pathname

if (!(await haveDnsperf())) {
  console.log('load suite skipped: dnsperf is missing (Debian package dnsperf)')
  process.exit(0)
}
const missing = ['dnsmasq', 'knotd'].filter((b) => which(b) === null)
if (missing.length > 0) console.log(`note: ${missing.join(', ')} not installed (Debian: dnsmasq-base, knot); their rows are left out`)

interface Fixture { dir: string; zoneDir: string; hosts: string; list: string; queries: string }

/** The same names for every server: instance-<i> with an A record, every 4th with AAAA too. */
function fixture(size: number): Fixture {
  const dir = mkdtempSync(join(tmpdir(), `incus-dns-load-${size}-`))
  const zoneDir = join(dir, 'zones')
  const ip4 = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`
  const ip6 = (i: number): string => `fd42::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`
  const zone = [`$ORIGIN ${SUFFIX}.`, '$TTL 30', `@ 3600 IN SOA ns hostmaster 1 3600 600 86400 30`, '@ 3600 IN NS ns', 'ns IN A 10.255.255.254']
  const hosts: string[] = []
  const list: string[] = []
  for (let i = 0; i < size; i++) {
    zone.push(`instance-${i} IN A ${ip4(i)}`)
    hosts.push(`${ip4(i)} instance-${i}.${SUFFIX}`)
    list.push(`instance-${i}.${SUFFIX} A ${ip4(i)}`)
    if (i % 4 === 0) {
      zone.push(`instance-${i} IN AAAA ${ip6(i)}`)
      hosts.push(`${ip6(i)} instance-${i}.${SUFFIX}`)
      list.push(`instance-${i}.${SUFFIX} AAAA ${ip6(i)}`)
    }
  }
  mkdirSync(zoneDir)
  writeFileSync(join(zoneDir, `${SUFFIX}.zone`), zone.join('\n') + '\n')
  writeFileSync(join(dir, 'hosts'), hosts.join('\n') + '\n')
  writeFileSync(join(dir, 'list'), list.join('\n') + '\n')
  // 80% A of existing names, 10% AAAA of names that have one, 10% NXDOMAIN; a fixed pseudo-random order.
  let seed = 42
  const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n }
  const lines: string[] = []
  for (let k = 0; k < 10000; k++) {
    const r = rand(10)
    if (r < 8) lines.push(`instance-${rand(size)}.${SUFFIX} A`)
    else if (r === 8) lines.push(`instance-${rand(Math.ceil(size / 4)) * 4}.${SUFFIX} AAAA`)
    else lines.push(`missing-${rand(size)}.${SUFFIX} A`)
  }
  return { dir, zoneDir, hosts: join(dir, 'hosts'), list: join(dir, 'list'), queries: queryFile(lines) }
}

interface Server { name: string; port: number; pid: number; stop(): Promise<void> }

/** Starts a child that prints its port (a JSON line with `port`, or incus-dns's `answering DNS` log line). */
async function child(name: string, args: string[]): Promise<Server> {
  const proc: ChildProcess = spawn(NODE, args, { stdio: ['ignore', 'pipe', 'inherit'], cwd: root })
  const port = await new Promise<number>((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout as NodeJS.ReadableStream })
    rl.on('line', (line) => {
      try {
        const j = JSON.parse(line) as { port?: number; listen?: string[] }
        if (j.port !== undefined) resolve(j.port)
        const listen = j.listen?.[0]
        if (listen !== undefined) resolve(Number(listen.split(':').at(-1)))
      } catch { /* not JSON */ }
    })
    proc.once('exit', (code) => reject(new Error(`${name} exited (${code})`)))
  })
  return { name, port, pid: proc.pid as number, stop: () => stopChild(proc) }
}

function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return Promise.resolve()
  const gone = new Promise<void>((r) => proc.once('exit', () => r()))
  proc.kill('SIGTERM')
  return gone
}

async function incusDns(f: Fixture, workers = 1): Promise<Server> {
  return child(workers === 1 ? 'incus-dns' : `incus-dns --workers ${workers}`,
    ['src/cli/bin.ts', '--listen', '127.0.0.1:0', '--zones-dir', f.zoneDir, '--incus-socket', 'none', '--http-listen', '', '--workers', String(workers)])
}

async function dnsmasq(f: Fixture): Promise<Server | null> {
  const bin = which('dnsmasq')
  if (bin === null) return null
  const port = await freePort()
  const proc = spawn(bin, ['-k', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', `--addn-hosts=${f.hosts}`, `--port=${port}`,
    '--listen-address=127.0.0.1', '--bind-interfaces', `--local=/${SUFFIX}/`, '--user=root', '--group=root', '--cache-size=0', '--log-facility=-'],
  { stdio: ['ignore', 'ignore', 'inherit'] })
  await waitFor(async () => (await udpExchange(port, query(`instance-1.${SUFFIX}`, 'A'), 200)) !== null, 10_000)
  return { name: 'dnsmasq', port, pid: proc.pid as number, stop: () => stopChild(proc) }
}

async function knot(f: Fixture): Promise<Server | null> {
  if (which('knotd') === null) return null
  const k: Knotd = await startKnotd(f.zoneDir, [{ domain: SUFFIX, file: `${SUFFIX}.zone` }])
  return { name: 'knotd (1 UDP worker)', port: k.port, pid: 0, stop: () => k.stop() }
}

/** Server CPU time (user + system) per query at a fixed rate: steadier than qps on a shared machine. */
async function cpuPerQuery(s: Server, file: string, rate: number): Promise<number> {
  const ticks = (): number => {
    const f = readFileSync(`/proc/${s.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
    return Number(f[11]) + Number(f[12]) // utime, stime (fields 14 and 15 of the whole line)
  }
  const t0 = ticks()
  const r = await dnsperf({ port: s.port, file, seconds: SECONDS, rate })
  const ms = ((ticks() - t0) * 1000) / CLOCK_TICKS
  return (ms * 1000) / (r.qps * SECONDS)
}
const CLOCK_TICKS = 100 // getconf CLK_TCK on Linux

function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN)
}

async function throughput(servers: Server[], file: string, tcp = false): Promise<Map<string, PerfResult[]>> {
  const out = new Map<string, PerfResult[]>()
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of servers) {
      const r = await dnsperf({ port: s.port, file, seconds: SECONDS, tcp })
      out.set(s.name, [...(out.get(s.name) ?? []), r])
    }
  }
  return out
}

const best = (rs: readonly PerfResult[]): PerfResult => rs.reduce((a, b) => (b.qps > a.qps ? b : a))
const fmt = (n: number, d = 0): string => (Number.isFinite(n) ? n.toFixed(d) : '-')

console.log(`incus-dns load suite: node ${process.version}, ${new Date().toISOString()}, dnsperf ${SECONDS}s x ${ROUNDS} rounds alternating, 4 clients, 100 outstanding`)

// 1. Side by side at MAIN_SIZE names.
const f = fixture(MAIN_SIZE)
const servers = [await incusDns(f), await incusDns(f, 2), await child('bare node:dgram echo', ['bench/servers/echo.ts']), await child('dns2 createServer + Map', ['bench/servers/dns2-naive.ts', f.list])]
for (const extra of [await dnsmasq(f), await knot(f)]) if (extra !== null) servers.push(extra)
const qps = await throughput(servers, f.queries)
const latency = new Map<string, PerfResult>()
for (const s of servers) latency.set(s.name, await dnsperf({ port: s.port, file: f.queries, seconds: 3, rate: LATENCY_RATE, latency: true }))
const ours = best(qps.get('incus-dns') ?? []).qps
console.log(`\n1. ${MAIN_SIZE} names, UDP (latency at a fixed ${LATENCY_RATE} qps)`)
console.table(servers.map((s) => {
  const b = best(qps.get(s.name) ?? [])
  const l = latency.get(s.name)
  return { server: s.name, qps: Math.round(b.qps), 'lost (best run)': b.lost, 'p50 ms': fmt(l?.p50 ?? NaN, 3), 'p99 ms': fmt(l?.p99 ?? NaN, 3), 'qps / incus-dns': fmt(b.qps / ours, 2) }
}))
const ratio = (name: string): string => { const q = qps.get(name); return q === undefined ? 'n/a' : fmt(ours / best(q).qps, 2) }

// 2. TCP, pipelined (dnsperf keeps 100 queries outstanding on its connections).
const tcpServers = servers.filter((s) => s.name === 'incus-dns' || s.name.startsWith('knotd'))
const tcp = await throughput(tcpServers, f.queries, true)
console.log(`\n2. TCP, ${MAIN_SIZE} names`)
console.table(tcpServers.map((s) => ({ server: s.name, qps: Math.round(best(tcp.get(s.name) ?? []).qps), lost: best(tcp.get(s.name) ?? []).lost })))
for (const s of servers) await s.stop()

// 3. Zone size: incus-dns qps and RSS at each size, next to the echo server.
console.log('\n3. Zone size (UDP qps; RSS of the incus-dns process)')
const empty = fixture(0)
const base = await incusDns(empty)
await throughput([base], f.queries) // the same traffic as every size: serving grows the heap a little too
const baseRss = rssKiB(base.pid)
await base.stop()
const sizeRows: Record<string, string | number>[] = []
const CPU_RATE = Number(process.env.BENCH_CPU_QPS ?? 20000)
/** Below this many names the heap's own growth under load (a few MiB either way) swamps the names' share. */
const PER_NAME_FROM = 50_000
for (const size of SIZES) {
  const fx = size === MAIN_SIZE ? f : fixture(size)
  const [s, echo] = [await incusDns(fx), await child('echo', ['bench/servers/echo.ts'])]
  const r = await throughput([s, echo], fx.queries)
  const rss = rssKiB(s.pid)
  const [cpuOurs, cpuEcho] = [await cpuPerQuery(s, fx.queries, CPU_RATE), await cpuPerQuery(echo, fx.queries, CPU_RATE)]
  sizeRows.push({ names: size, 'incus-dns qps': Math.round(best(r.get('incus-dns') ?? []).qps), 'echo qps': Math.round(best(r.get('echo') ?? []).qps),
    'ratio to echo': fmt(best(r.get('incus-dns') ?? []).qps / best(r.get('echo') ?? []).qps, 2),
    [`µs CPU/query @${CPU_RATE / 1000}k`]: fmt(cpuOurs, 1), [`echo µs CPU/query`]: fmt(cpuEcho, 1),
    'RSS MiB': fmt(rss / 1024, 1), 'RSS per name (B)': size < PER_NAME_FROM ? '-' : Math.round(((rss - baseRss) * 1024) / size) })
  await s.stop()
  await echo.stop()
}
console.table(sizeRows)
console.log(`(RSS with only the SOA, after the same load: ${fmt(baseRss / 1024, 1)} MiB; per-name figures subtract it, from ${PER_NAME_FROM} names up)`)

console.log(`\nsummary: incus-dns ${Math.round(ours)} qps at ${MAIN_SIZE} names = ${fmt(ours / best(qps.get('bare node:dgram echo') ?? []).qps, 2)} x bare dgram echo, `
  + `${ratio('dns2 createServer + Map')} x dns2 naive, ${qps.has('dnsmasq') ? fmt(ours / best(qps.get('dnsmasq') ?? []).qps, 2) : 'n/a'} x dnsmasq, `
  + `${qps.has('knotd (1 UDP worker)') ? fmt(ours / best(qps.get('knotd (1 UDP worker)') ?? []).qps, 2) : 'n/a'} x knotd`)
