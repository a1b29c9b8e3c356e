/**
 * Operations (issue 6): the HTTP side port (/metrics as Prometheus text whose counters move with traffic,
 * /healthz, /readyz flipping after the first Incus sync, /zone), and warm restart from the state file while
 * Incus is down, converging when it is back.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { METRICS } from '../../src/http/metrics.ts'
import { SimIncus } from '../../src/sim/server.ts'
import { simSocket, startWithIncus } from '../helpers/incus.ts'
import { udpExchange, waitFor } from '../helpers/net.ts'
import { decode, query } from '../helpers/packets.ts'
import type { TestServer } from '../helpers/server.ts'

const ZONES = new URL('../../zones/', import.meta.url).pathname
const S = 'incus.example.org'

async function get(server: TestServer, path: string): Promise<{ status: number; text: string }> {
  const at = server.http?.address
  const res = await fetch(`http://127.0.0.1:${at?.port}${path}`)
  return { status: res.status, text: await res.text() }
}

/** Parses Prometheus text format strictly enough to catch malformed lines: name{labels} value. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|[Nn][Aa][Nn]|\+Inf|-Inf)$/.exec(line) // NaN in any case, as Go's ParseFloat reads it
    if (m === null) throw new Error(`not Prometheus text: ${line}`)
    out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]))
  }
  return out
}

describe('the HTTP side port', () => {
  let sim: SimIncus
  let server: TestServer
  beforeAll(async () => {
    const s = await simSocket()
    sim = s.sim
    sim.launch({ name: 'web', ipv4: '10.42.0.15' })
    sim.failAlways({ status: 503, error: 'Daemon is starting up' })
    server = (await startWithIncus(ZONES, ['--incus-socket', s.socket, '--suffix', S, '--poll-interval', '1s'])).server
  })
  afterAll(async () => { await server?.stop(); await sim?.close() })

  it('/healthz answers while /readyz waits for the first Incus sync, then flips', async () => {
    expect((await get(server, '/healthz')).status).toBe(200)
    const notYet = await get(server, '/readyz')
    expect(notYet.status).toBe(503)
    expect(JSON.parse(notYet.text)).toEqual({ status: 'not ready', reason: 'the first Incus sync has not succeeded yet' })
    sim.failAlways(null)
    await waitFor(async () => (await get(server, '/readyz')).status === 200, 5000)
  })

  it('/metrics is Prometheus text naming every documented metric, and counters move with traffic', async () => {
    const text = (await get(server, '/metrics')).text
    const before = parseMetrics(text)
    for (const [name, type] of METRICS) expect(text).toContain(`# TYPE ${name} ${type}\n`)
    // prom-client's defaults keep their standard names: one prefix, not two.
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(text).toMatch(new RegExp(`^# TYPE ${name} `, 'm'))
    }
    expect(text).not.toContain('incus_dns_process_')
    const key = 'incus_dns_queries_total{transport="udp",qtype="A"}'
    for (let i = 0; i < 5; i++) await udpExchange(server.port, query(`web.${S}`, 'A'))
    await udpExchange(server.port, query('nothere.example.org', 'MX'))
    const after = parseMetrics((await get(server, '/metrics')).text)
    expect((after.get(key) ?? 0) - (before.get(key) ?? 0)).toBe(5)
    expect((after.get('incus_dns_responses_total{rcode="NXDOMAIN"}') ?? 0) - (before.get('incus_dns_responses_total{rcode="NXDOMAIN"}') ?? 0)).toBe(1)
    expect(after.get('incus_dns_answer_duration_seconds_count')).toBeGreaterThanOrEqual(6)
    expect(after.get('incus_dns_incus_syncs_total{result="failure"}')).toBeGreaterThan(0)
    expect(after.get('incus_dns_incus_syncs_total{result="success"}')).toBeGreaterThan(0)
    expect(after.get(`incus_dns_zone_records{zone="${S}"}`)).toBeGreaterThanOrEqual(1)
    expect(after.get('incus_dns_ready')).toBe(1)
    expect(after.get('incus_dns_incus_event_stream_connected')).toBe(1)
  })

  it('/zone lists the live records with their source', async () => {
    const dump = JSON.parse((await get(server, '/zone')).text) as { zones: { zone: string; serial: number }[]; records: Record<string, unknown>[] }
    expect(dump.zones.map((z) => z.zone)).toContain(S)
    expect(dump.records).toContainEqual({ name: `web.${S}`, type: 'A', ttl: 30, data: { address: '10.42.0.15' }, source: 'incus', instances: ['default/web'] })
    expect(dump.records).toContainEqual({ name: 'web.example.org', type: 'A', ttl: 3600, data: { address: '192.0.2.80' }, source: 'file' })
    expect((await get(server, '/nope')).status).toBe(404)
  })
})

describe('warm restart from the state file', () => {
  it('answers from the state file while Incus is down, then converges when it is back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'incus-dns-state-'))
    const stateFile = join(dir, 'state.json')
    const first = await simSocket()
    first.sim.launch({ name: 'web', ipv4: '10.42.0.15' })
    first.sim.launch({ name: 'db', ipv4: '10.42.0.30' })
    const args = ['--incus-socket', first.socket, '--suffix', S, '--poll-interval', '1s', '--state-file', stateFile]
    const one = (await startWithIncus(ZONES, args)).server
    await waitFor(() => existsSync(stateFile), 5000)
    expect(JSON.parse(readFileSync(stateFile, 'utf8')).instances).toHaveLength(2)
    await one.stop()
    await first.sim.close() // Incus is down now

    const two = (await startWithIncus(ZONES, args)).server
    try {
      const ask = async (name: string): Promise<string[]> => decode((await udpExchange(two.port, query(name, 'A'))) as Buffer).answer
      await waitFor(async () => (await ask(`db.${S}`)).length === 1, 5000)
      expect(await ask(`web.${S}`)).toEqual([`web.${S}. 30 IN A 10.42.0.15`])
      const ready = await get(two, '/readyz')
      expect(ready.status).toBe(503)
      expect(JSON.parse(ready.text).reason).toBe('answering from the state file; the first Incus sync has not succeeded yet')

      // Incus comes back at the same socket, with db gone and web moved.
      const back = new SimIncus()
      await back.listenUnix(first.socket)
      back.launch({ name: 'web', ipv4: '10.42.0.16' })
      try {
        // web's address watch (its IPv6 never came) may see the move before the full sync does: wait for both.
        await waitFor(async () => (await ask(`web.${S}`))[0] === `web.${S}. 30 IN A 10.42.0.16` && (await get(two, '/readyz')).status === 200, 8000)
        expect(await ask(`db.${S}`)).toEqual([])
      } finally {
        await back.close()
      }
    } finally {
      await two.stop()
    }
  })
})
