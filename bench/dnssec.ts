/**
 * What DNSSEC costs (issue 29), side by side in one run:
 * 1. signatures per second on one core, ECDSA P-256 and Ed25519 (node:crypto, no cache);
 * 2. the first Incus sync of a 10k-instance fleet (the simulated Incus of bench/sync.ts) with INCUS_DNS_DNSSEC
 *    off and on, alternating: how long until it is served, the worst and p99 answer to queries with DO sent one
 *    per ms while it lands, the signatures made, RSS after;
 * 3. dnsperf over loopback against a 10k-name zone file (A and AAAA each) served signed: qps of positive answers
 *    with DO against without (goal: 0.9 or more), and of answers with DO for random names that do not exist
 *    (each signed on the fly) against knotd's mod-onlinesign with the same zone (one UDP worker each).
 * `node bench/dnssec.ts` (BENCH_DNSSEC_INSTANCES, BENCH_SECONDS, BENCH_ROUNDS, BENCH_DNSSEC_SKIP_SYNC=1). Asserts nothing.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import dgram from 'node:dgram'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKey } from '../src/dnssec/keys.ts'
import { signRRset } from '../src/dnssec/sign.ts'
import type { Rec } from '../src/zone/types.ts'
import { which } from '../test/helpers/binaries.ts'
import { startKnotd } from '../test/helpers/knotd.ts'
import { freePort, udpExchange, waitFor } from '../test/helpers/net.ts'
import { query } from '../test/helpers/packets.ts'
import { dnsperf, haveDnsperf, queryFile } from './lib/dnsperf.ts'

const N = Number(process.env.BENCH_DNSSEC_INSTANCES ?? 10000)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2)
const SUFFIX = 'incus.example.org'
const bin = new URL('../src/cli/bin.ts', import.meta.url).pathname
const scratch = mkdtempSync(join(tmpdir(), 'bench-dnssec-'))
console.log(`node ${process.version}, ${new Date().toISOString()}, ${N} instances`)

// ---- 1. signatures per second ----
for (const algorithm of ['ecdsap256sha256', 'ed25519'] as const) {
  const key = generateKey(SUFFIX, algorithm)
  const rrset: Rec[] = [{ name: `web.${SUFFIX}`, ttl: 30, data: { type: 'A', address: '10.42.0.15' } }]
  const validity = { inception: 1_800_000_000, expiration: 1_801_000_000 }
  let n = 0
  const t0 = performance.now()
  while (performance.now() - t0 < 1000) { signRRset(rrset, 30, key, validity); n++ }
  console.log(`signatures per second, one core, ${algorithm}: ${Math.round(n / ((performance.now() - t0) / 1000))}`)
}

// ---- 2. the first sync of a fleet, signed and not ----
const waitText = (child: ChildProcess, text: string, timeoutMs = 120_000): Promise<number> => new Promise((resolve, reject) => {
  let seen = ''
  const timer = setTimeout(() => reject(new Error(`no '${text}' in ${timeoutMs} ms: ${seen.slice(-400)}`)), timeoutMs)
  const on = (d: Buffer): void => { seen += d.toString(); if (seen.includes(text)) { clearTimeout(timer); resolve(performance.now()) } }
  child.stdout?.on('data', on)
  child.stderr?.on('data', on)
})
const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024

async function firstSync(signed: boolean): Promise<string> {
  const socket = join(mkdtempSync(join(scratch, 'sim-')), 'unix.socket')
  const sim = spawn(process.execPath, [new URL('./sync.ts', import.meta.url).pathname, 'sim', String(N), socket, 'dual'], { stdio: ['pipe', 'pipe', 'inherit'] })
  await waitText(sim, 'ready')
  const port = await freePort()
  const httpPort = await freePort()
  const zones = mkdtempSync(join(scratch, 'zones-'))
  const dns = spawn(process.execPath, [bin, '--incus-socket', socket, '--suffix', SUFFIX, '--listen', `127.0.0.1:${port}`, '--http-listen', `127.0.0.1:${httpPort}`,
    // Logs at warn: at info a first sync logs a line per instance, and reading 10k lines here would stall this
    // client, not the server (measured: an 800 ms "stall" that was this process's).
    '--workers', '1', '--zones-dir', zones, '--log-level', 'warn', ...(signed ? ['--dnssec', 'on', '--dnssec-key-dir', join(zones, 'keys')] : [])], { stdio: ['ignore', 'ignore', 'inherit'] })
  await waitFor(async () => (await udpExchange(port, query(`x.${SUFFIX}`, 'SOA'), 200)) !== null, 30_000)
  const answering = performance.now()
  // Served: /readyz says the first sync is done.
  const synced = (async (): Promise<number> => {
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${httpPort}/readyz`).then((r) => r.ok, () => false)
      if (ok) return performance.now()
      await new Promise((r) => setTimeout(r, 20))
    }
  })()
  const client = dgram.createSocket('udp4')
  await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()))
  const sent = new Map<number, number>()
  const latencies: number[] = []
  /** When the slowest answer's query was sent, from the server's first answer. */
  let worstAt = 0
  let worst = 0
  client.on('message', (msg) => {
    const t = sent.get(msg.readUInt16BE(0))
    if (t === undefined) return
    const ms = performance.now() - t
    if (ms > worst) { worst = ms; worstAt = t - answering }
    latencies.push(ms)
    sent.delete(msg.readUInt16BE(0))
  })
  let doneAt = 0
  void synced.then((t) => { doneAt = t })
  let id = 0
  const t0 = performance.now()
  // One query with DO per ms, until 2 s after the sync is served (30 s at most).
  while ((doneAt === 0 || performance.now() - doneAt < 2000) && performance.now() - t0 < 30_000) {
    const due = Math.floor(performance.now() - t0)
    while (id < due) {
      const q = query(`i${id % N}.${SUFFIX}`, 'A', { id: id & 0xffff, edns: 1232, dnssecOk: true })
      sent.set(id & 0xffff, performance.now())
      client.send(q, port, '127.0.0.1')
      id++
    }
    await new Promise((r) => setTimeout(r, 1))
  }
  await new Promise((r) => setTimeout(r, 300))
  client.close()
  const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()
  const rss = rssMiB(dns.pid as number)
  const signatures = /^incus_dns_dnssec_signatures_total (\d+)/m.exec(metrics)?.[1] ?? 'n/a'
  dns.kill('SIGTERM')
  sim.kill('SIGTERM')
  await new Promise((r) => setTimeout(r, 300))
  const sorted = latencies.sort((a, b) => a - b)
  const pct = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN
  return `${signed ? 'signed  ' : 'unsigned'}: served ${doneAt === 0 ? 'not in 30 s' : `${((doneAt - answering) / 1000).toFixed(2)} s`} after the server answered; answers ${sorted.length}/${id}; ` +
    `worst ${(sorted.at(-1) ?? NaN).toFixed(1)} ms (asked ${(worstAt / 1000).toFixed(2)} s in), p99 ${pct(0.99).toFixed(2)} ms; signatures ${signatures}; RSS ${rss.toFixed(0)} MiB`
}
// BENCH_DNSSEC_SKIP_SYNC=1: the qps rows alone.
if (process.env.BENCH_DNSSEC_SKIP_SYNC !== '1') for (let r = 0; r < ROUNDS; r++) for (const signed of [false, true]) console.log(`first sync of ${N} instances, ${await firstSync(signed)}`)

// ---- 3. qps: with and without DO, and denials for random names against knotd mod-onlinesign ----
if (!(await haveDnsperf())) {
  console.log('dnsperf is not installed (Debian: dnsperf): qps rows skipped')
} else {
  const zoneDir = join(scratch, 'zonefile')
  mkdirSync(zoneDir)
  const lines = [`$ORIGIN ${SUFFIX}.`, '$TTL 30', '@ SOA ns1 hostmaster 1 7200 900 1209600 30', '@ NS ns1', 'ns1 A 10.0.0.1']
  for (let i = 0; i < N; i++) lines.push(`i${i} A 10.42.${(i >> 8) & 255}.${i & 255}`, `i${i} AAAA fd42::${i.toString(16)}`)
  writeFileSync(join(zoneDir, `${SUFFIX}.zone`), lines.join('\n') + '\n')
  const port = await freePort()
  const dns = spawn(process.execPath, [bin, '--incus-socket', 'none', '--listen', `127.0.0.1:${port}`, '--http-listen', '', '--zones-dir', zoneDir,
    '--dnssec', 'on', '--dnssec-key-dir', join(scratch, 'keys3'), '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] })
  await waitFor(async () => (await udpExchange(port, query(`i1.${SUFFIX}`, 'A'), 500)) !== null, 60_000)
  const positive = queryFile(Array.from({ length: N }, (_, i) => `i${i}.${SUFFIX} ${i % 2 === 0 ? 'A' : 'AAAA'}`))
  const random = queryFile(Array.from({ length: 400_000 }, () => `r${Math.random().toString(36).slice(2, 12)}.${SUFFIX} A`))
  const perf = (p: number, file: string, dnssec: boolean): Promise<number> => dnsperf({ port: p, file, seconds: SECONDS, ...(dnssec ? { extra: ['-D'] } : {}) }).then((r) => r.qps)
  const best = (xs: number[]): number => Math.max(...xs)
  const plain: number[] = []
  const withDo: number[] = []
  for (let r = 0; r < ROUNDS; r++) { plain.push(await perf(port, positive, false)); withDo.push(await perf(port, positive, true)) }
  console.log(`positive answers, incus-dns signed zone: without DO ${best(plain).toFixed(0)} qps, with DO ${best(withDo).toFixed(0)} qps: ratio ${(best(withDo) / best(plain)).toFixed(2)}`)
  const ours: number[] = []
  const knots: number[] = []
  const knot = which('knotd') === null ? null : await startKnotd(zoneDir, [{ domain: SUFFIX, file: `${SUFFIX}.zone` }], [], {
    sections: ['policy:', '  - id: online', '    algorithm: ecdsap256sha256', '    single-type-signing: on', '    nsec3: off',
      'mod-onlinesign:', '  - id: online', '    policy: online'],
    template: ['module: mod-onlinesign/online'],
  }).catch((err: Error) => { console.log(`knotd with mod-onlinesign did not start: ${err.message.slice(0, 300)}`); return null })
  if (knot !== null) {
    // A query knotd answers signed: its keys are made at its first signing.
    await waitFor(async () => ((await udpExchange(knot.port, query(`x.${SUFFIX}`, 'A', { edns: 1232, dnssecOk: true }), 500))?.length ?? 0) > 200, 10_000)
  }
  for (let r = 0; r < ROUNDS; r++) {
    ours.push(await perf(port, random, true))
    if (knot !== null) knots.push(await perf(knot.port, random, true))
  }
  console.log(`denials for random names with DO (signed per query): incus-dns ${best(ours).toFixed(0)} qps, knotd mod-onlinesign ${knot === null ? 'n/a (no knotd with mod-onlinesign)' : `${best(knots).toFixed(0)} qps: ratio ${(best(ours) / best(knots)).toFixed(2)}`}`)
  console.log(`incus-dns RSS after: ${rssMiB(dns.pid as number).toFixed(0)} MiB (${N} names signed, A and AAAA)`)
  await knot?.stop()
  dns.kill('SIGTERM')
}
rmSync(scratch, { recursive: true, force: true })
