/**
 * Incus benchmarks: (1) event-to-answer latency: from a lifecycle event (instance started, address present)
 * until a DNS query over UDP gets the new name, over a few hundred launches on the simulated Incus; (2) the
 * cost of one instance change (map → records → zone) in zones of 10k and 100k instances. Prints numbers.
 */
import dgram from 'node:dgram'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { start } from '../src/cli/main.ts'
import { loadConfig } from '../src/config/load.ts'
import type { Mapped } from '../src/incus/naming/map.ts'
import { InstanceRecords } from '../src/incus/naming/records.ts'
import { SimIncus } from '../src/sim/server.ts'
import { ZoneStore } from '../src/zone/store.ts'

const LAUNCHES = Number(process.env.BENCH_LAUNCHES ?? 300)
const SUFFIX = 'incus.example.org'

function query(name: string, id: number): Buffer {
  const parts = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]))
  const h = Buffer.alloc(12)
  h.writeUInt16BE(id, 0); h.writeUInt16BE(1, 4)
  return Buffer.concat([h, ...parts, Buffer.from([0, 0, 1, 0, 1])])
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] as number
}

async function eventToAnswer(): Promise<void> {
  const sim = new SimIncus()
  const socket = join(mkdtempSync(join(tmpdir(), 'incus-dns-bench-')), 'unix.socket')
  await sim.listenUnix(socket)
  const { config } = loadConfig(['--listen', '127.0.0.1:0', '--zones-dir', new URL('../zones/', import.meta.url).pathname,
    '--incus-socket', socket, '--suffix', SUFFIX, '--poll-interval', '10m'], {})
  const running = await start(config, pino({ level: 'silent' }))
  const port = running.server.addresses[0]?.port as number
  const readyBy = performance.now() + 10_000
  while (running.incus?.eventsConnected !== true || running.incus.ready !== true) {
    if (performance.now() > readyBy) throw new Error('the Incus source was not synced with its event stream up within 10 s')
    await new Promise((r) => setTimeout(r, 10))
  }
  const client = dgram.createSocket('udp4')
  await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()))
  const latencies: number[] = []
  /** Launches not answered within 5 s: counted and said, never waited for without end. */
  const unanswered: string[] = []
  for (let i = 0; i < LAUNCHES; i++) {
    const name = `bench-${i}`
    const q = query(`${name}.${SUFFIX}`, i & 0xffff)
    const t0 = performance.now()
    sim.launch({ name, ipv4: `10.43.${i >> 8}.${i & 255}` })
    // Ask every 0.5 ms until the answer has a record: what a client polling the name would see.
    for (;;) {
      const reply = await new Promise<Buffer | null>((resolve) => {
        const timer = setTimeout(() => { client.off('message', on); resolve(null) }, 200)
        const on = (msg: Buffer): void => { clearTimeout(timer); client.off('message', on); resolve(msg) }
        client.on('message', on)
        client.send(q, port, '127.0.0.1')
      })
      if (reply !== null && reply.readUInt16BE(6) > 0) break
      if (performance.now() - t0 > 5000) { unanswered.push(name); break }
      await new Promise((r) => setTimeout(r, 0.5))
    }
    if (unanswered.at(-1) !== name) latencies.push(performance.now() - t0)
  }
  client.close()
  await running.stop()
  await sim.close()
  const sorted = [...latencies].sort((a, b) => a - b)
  if (sorted.length === 0) console.log(`event-to-answer: none of ${LAUNCHES} launches answered`)
  else console.log(`event-to-answer over ${sorted.length} launches (unix socket, in-process sim): p50 ${pct(sorted, 0.5).toFixed(2)} ms, p99 ${pct(sorted, 0.99).toFixed(2)} ms, max ${(sorted.at(-1) as number).toFixed(2)} ms`)
  if (unanswered.length > 0) console.log(`NOT ANSWERED within 5 s: ${unanswered.length} of ${LAUNCHES} launches (${unanswered.slice(0, 5).join(', ')})`)
}

function changeCost(size: number): void {
  const store = new ZoneStore()
  store.setOwner('incus', SUFFIX, [{ name: SUFFIX, ttl: 3600, data: { type: 'SOA', mname: `ns.${SUFFIX}`, rname: `hostmaster.${SUFFIX}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 30 } }])
  const records = new InstanceRecords({ ttl: 30, targetMode: 'guest-ip', cnameTarget: null }, { conflict() {}, rejected() {} })
  const mapped = (i: number, v: number): Mapped => ({
    key: `default/i${i}`, project: 'default', name: `i${i}`, hostname: `i${i}.${SUFFIX}`, aliases: [],
    ipv4: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, ipv6: `fd42::${v.toString(16)}:${(i & 0xffff).toString(16)}`, skipped: null, awaitingAddress: false,
  })
  const t0 = performance.now()
  records.apply(store, new Map(Array.from({ length: size }, (_, i) => [`default/i${i}`, mapped(i, 0)] as const)))
  const buildMs = performance.now() - t0
  const rounds = 5000
  const t1 = performance.now()
  for (let n = 1; n <= rounds; n++) {
    const i = (n * 7919) % size
    records.apply(store, new Map([[`default/i${i}`, mapped(i, n)]]))
  }
  const perChangeUs = ((performance.now() - t1) / rounds) * 1000
  console.log(`one instance change at ${size} instances: ${perChangeUs.toFixed(1)} µs (mean of ${rounds}; initial load ${buildMs.toFixed(0)} ms)`)
}

/**
 * A replica's health flipping, at `size` instances in services of `replicas` each (with an SRV key): the
 * service's name and its SRV name are settled again over all its replicas, so the cost grows with the service.
 */
function serviceChangeCost(size: number, replicas: number): void {
  const store = new ZoneStore()
  store.setOwner('incus', SUFFIX, [{ name: SUFFIX, ttl: 3600, data: { type: 'SOA', mname: `ns.${SUFFIX}`, rname: `hostmaster.${SUFFIX}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 30 } }])
  const records = new InstanceRecords({ ttl: 30, targetMode: 'guest-ip', cnameTarget: null }, { conflict() {}, rejected() {} })
  const mapped = (i: number, health: string): Mapped => ({
    key: `default/i${i}`, project: 'default', name: `i${i}`, hostname: `i${i}.${SUFFIX}`, aliases: [], service: `svc${Math.floor(i / replicas)}.${SUFFIX}`,
    stack: 'bench', health, srv: [{ service: 'http', proto: 'tcp', port: 80, priority: 0, weight: 1 }],
    ipv4: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, ipv6: null, skipped: null, awaitingAddress: false,
  })
  const t0 = performance.now()
  records.apply(store, new Map(Array.from({ length: size }, (_, i) => [`default/i${i}`, mapped(i, 'healthy')] as const)))
  const buildMs = performance.now() - t0
  const rounds = 2000
  const t1 = performance.now()
  for (let n = 1; n <= rounds; n++) {
    const i = (n * 7919) % size
    records.apply(store, new Map([[`default/i${i}`, mapped(i, n % 2 === 1 ? 'unhealthy' : 'healthy')]]))
  }
  const perChangeUs = ((performance.now() - t1) / rounds) * 1000
  console.log(`one replica's health flip at ${size} instances in services of ${replicas}: ${perChangeUs.toFixed(1)} µs (mean of ${rounds}; initial load ${buildMs.toFixed(0)} ms)`)
}

console.log(`node ${process.version}, ${new Date().toISOString()}`)
await eventToAnswer()
for (const size of (process.env.BENCH_SIZES ?? '10000,100000').split(',').map(Number)) changeCost(size)
for (const replicas of [3, 100, 1000]) serviceChangeCost(10000, replicas)
