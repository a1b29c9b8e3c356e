/**
 * The live zone from the simulated Incus over its unix socket: the first sync, events driving dig answers,
 * addresses that appear with no event, renames and deletes, a dropped event stream, API failures that must
 * lose nothing, out-of-order events, Error stubs, conflicts, aliases and PTRs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SimIncus } from '../../src/sim/server.ts'
import { havePeer } from '../helpers/binaries.ts'
import { dig } from '../helpers/dig.ts'
import { simSocket, startWithIncus } from '../helpers/incus.ts'
import type { LogLine } from '../helpers/incus.ts'
import { waitFor } from '../helpers/net.ts'
import type { TestServer } from '../helpers/server.ts'

const ZONES = new URL('../../zones/', import.meta.url).pathname
const S = 'incus.example.org'

describe.skipIf(!havePeer('dig', 'bind9-dnsutils'))('Incus source over the unix socket', () => {
  let sim: SimIncus
  let server: TestServer
  let lines: LogLine[]
  let bulkSyncs = 0
  const a = async (name: string, type = 'A'): Promise<readonly string[]> => (await dig('127.0.0.1', server.port, name, type)).answer
  const rcode = async (name: string, type = 'A'): Promise<string> => (await dig('127.0.0.1', server.port, name, type)).rcode
  const until = (check: () => Promise<boolean>, ms = 5000): Promise<void> => waitFor(check, ms, () => lines.slice(-5).map((l) => l.msg).join(' | '))

  beforeAll(async () => {
    const s = await simSocket()
    sim = s.sim
    sim.launch({ name: 'web', ipv4: '10.42.0.15', ipv6: 'fd42:4c81:5770:1eaf::15' })
    sim.launch({ name: 'api', project: 'staging', ipv4: '10.42.0.77' })
    sim.launch({ name: 'shop', ipv4: '10.42.0.23', config: { 'user.dns.aliases': 'www,store' } })
    sim.create({ name: 'db', ipv4: '10.42.0.30' }) // stopped
    const started = await startWithIncus(ZONES, ['--incus-socket', s.socket, '--suffix', S, '--poll-interval', '60s'], { onBulkSync: () => bulkSyncs++ })
    server = started.server
    lines = started.lines
    await waitFor(() => server.incus?.ready === true, 5000)
  })
  afterAll(async () => { await server?.stop(); await sim?.close() })

  it('counts the first sync as a bulk change (the command collects garbage after one), and not a small one', async () => {
    expect(bulkSyncs).toBe(1)
    sim.launch({ name: 'bulk-check', ipv4: '10.42.0.99' })
    await server.incus?.sync()
    expect(server.incus?.records.instances.has('default/bulk-check')).toBe(true)
    expect(bulkSyncs).toBe(1)
    sim.delete('default', 'bulk-check')
    await server.incus?.sync()
    expect(server.incus?.records.instances.has('default/bulk-check')).toBe(false)
  })

  it('publishes running instances at the first sync: A, AAAA, other projects, PTR', async () => {
    expect(await a(`web.${S}`)).toEqual([`web.${S}. 30 IN A 10.42.0.15`])
    expect(await a(`web.${S}`, 'AAAA')).toEqual([`web.${S}. 30 IN AAAA fd42:4c81:5770:1eaf::15`])
    expect(await a(`api.staging.${S}`)).toEqual([`api.staging.${S}. 30 IN A 10.42.0.77`])
    expect(await a('15.0.42.10.in-addr.arpa', 'PTR')).toEqual([`15.0.42.10.in-addr.arpa. 30 IN PTR web.${S}.`])
    expect(await rcode(`db.${S}`)).toBe('NXDOMAIN')
  })

  it('serves the suffix zone with a generated SOA, next to the zone files', async () => {
    const soa = await dig('127.0.0.1', server.port, S, 'SOA')
    expect(soa.answer[0]).toMatch(new RegExp(`^${S.replace(/\./g, '\\.')}\\. 3600 IN SOA ns\\.${S.replace(/\./g, '\\.')}\\. hostmaster`))
    expect(await a('www.example.org')).toContain('web.example.org. 3600 IN A 192.0.2.80')
    const nx = await dig('127.0.0.1', server.port, `nothere.${S}`, 'A')
    expect(nx.authority[0]).toMatch(/ 30 IN SOA /) // negative TTL = INCUS_DNS_TTL
  })

  it('answers a shared alias list: one instance → CNAME to its name', async () => {
    expect(await a(`www.${S}`)).toEqual([`www.${S}. 30 IN CNAME shop.${S}.`, `shop.${S}. 30 IN A 10.42.0.23`])
  })

  it('an instance launched in Incus answers without any poll (events drive it)', async () => {
    sim.launch({ name: 'new1', ipv4: '10.42.0.101' })
    await until(async () => (await a(`new1.${S}`)).length === 1)
    expect(await a(`new1.${S}`)).toEqual([`new1.${S}. 30 IN A 10.42.0.101`])
  })

  it('an address that appears after the start, with no event, is published by the address poll', async () => {
    sim.launch({ name: 'late', ipv4: '10.42.0.102', addressAfterMs: 400 })
    await new Promise((r) => setTimeout(r, 100))
    expect(await rcode(`late.${S}`)).toBe('NXDOMAIN')
    await until(async () => (await a(`late.${S}`)).length === 1)
  })

  it('IPv6 first and IPv4 later, or the other way round: each family answers within 1 s of appearing, not at the poll', async () => {
    // As on a real incusd: the leases list the computed SLAAC address before the guest has any (#11).
    sim.launch({ name: 'v6first', ipv4: '10.42.0.131', ipv6: 'fd42:4c81:5770:1eaf::131', ipv4AfterMs: 600, ipv6AfterMs: 0 })
    sim.launch({ name: 'v4first', ipv4: '10.42.0.132', ipv6: 'fd42:4c81:5770:1eaf::132', ipv4AfterMs: 0, ipv6AfterMs: 600 })
    await until(async () => (await a(`v6first.${S}`, 'AAAA')).length === 1 && (await a(`v4first.${S}`)).length === 1, 1000)
    const t0 = Date.now()
    await until(async () => (await a(`v6first.${S}`)).length === 1 && (await a(`v4first.${S}`, 'AAAA')).length === 1, 2000)
    expect(Date.now() - t0).toBeLessThan(1500)
    expect(await a(`v6first.${S}`)).toEqual([`v6first.${S}. 30 IN A 10.42.0.131`])
    expect(await a(`v4first.${S}`, 'AAAA')).toEqual([`v4first.${S}. 30 IN AAAA fd42:4c81:5770:1eaf::132`])
  })

  it('user.dns.wildcard=true: app1.<hostname> and any name below it answer with the instance\'s address', async () => {
    sim.launch({ name: 'ingress', ipv4: '10.42.0.140', config: { 'user.dns.wildcard': 'true' } })
    await until(async () => (await a(`app1.ingress.${S}`)).length === 1)
    expect(await a(`app1.ingress.${S}`)).toEqual([`app1.ingress.${S}. 30 IN A 10.42.0.140`])
    expect(await a(`a.b.ingress.${S}`)).toEqual([`a.b.ingress.${S}. 30 IN A 10.42.0.140`])
    expect(await a(`ingress.${S}`)).toEqual([`ingress.${S}. 30 IN A 10.42.0.140`])
    sim.setConfig('default', 'ingress', 'user.dns.wildcard', null)
    await until(async () => (await rcode(`app1.ingress.${S}`)) === 'NXDOMAIN')
    sim.delete('default', 'ingress')
  })

  it('the simulated Incus refuses one instance name twice on one bridge, and takes it on another bridge', () => {
    expect(() => sim.launch({ name: 'web', project: 'staging', ipv4: '10.42.0.150' })).toThrow(/Instance DNS name "web" already used on network/)
    expect(sim.instances.has('staging/web')).toBe(false)
    sim.launch({ name: 'web', project: 'staging', network: 'incusbr1', ipv4: '10.43.0.15' })
    expect(sim.instances.has('staging/web')).toBe(true)
    sim.delete('staging', 'web')
  })

  it('counts the lag from an Incus change to its publication, by event and by address watch', () => {
    const lag = server.incus?.stats.lag
    expect(lag?.event.count).toBeGreaterThan(0)
    expect(lag?.address.count).toBeGreaterThan(0) // 'late' and the split-family launches
    expect((lag?.event.sum ?? 0) / (lag?.event.count ?? 1)).toBeLessThan(1) // seconds, on the simulated Incus
  })

  it('stop removes the names; start brings them back', async () => {
    sim.stop('default', 'new1')
    await until(async () => (await rcode(`new1.${S}`)) === 'NXDOMAIN')
    sim.start('default', 'new1')
    await until(async () => (await a(`new1.${S}`)).length === 1)
  })

  it('rename removes the old name and publishes the new one', async () => {
    sim.stop('default', 'new1')
    sim.rename('default', 'new1', 'renamed1')
    sim.start('default', 'renamed1')
    await until(async () => (await a(`renamed1.${S}`)).length === 1)
    expect(await rcode(`new1.${S}`)).toBe('NXDOMAIN')
  })

  it('delete removes the name and its PTR', async () => {
    sim.launch({ name: 'gone', ipv4: '10.42.0.103' })
    await until(async () => (await a('103.0.42.10.in-addr.arpa', 'PTR')).length === 1)
    sim.delete('default', 'gone')
    await until(async () => (await rcode(`gone.${S}`)) === 'NXDOMAIN')
    expect(await rcode('103.0.42.10.in-addr.arpa', 'PTR')).toBe('NXDOMAIN')
  })

  it('a config change (user.dns.hostname) moves the name', async () => {
    sim.setConfig('default', 'renamed1', 'user.dns.hostname', 'portal')
    await until(async () => (await a(`portal.${S}`)).length === 1)
    expect(await rcode(`renamed1.${S}`)).toBe('NXDOMAIN')
  })

  it('after the event stream drops, reconnects and resyncs what was missed', async () => {
    sim.events.drop = true
    sim.delete('default', 'late')
    sim.launch({ name: 'missed', ipv4: '10.42.0.104' })
    sim.events.drop = false
    const before = server.incus?.reconnects ?? 0
    sim.dropEventStreams()
    await until(async () => (await a(`missed.${S}`)).length === 1 && (await rcode(`late.${S}`)) === 'NXDOMAIN')
    expect(server.incus?.reconnects).toBeGreaterThan(before)
    expect(lines.some((l) => l.msg === 'event stream down; reconnecting')).toBe(true)
  })

  it('API 500s and garbage keep every record, and it recovers', async () => {
    const errorsBefore = server.incus?.stats.syncErrors ?? 0
    sim.failAlways({ status: 500, error: 'boom' })
    await server.incus?.sync()
    sim.failAlways('garbage')
    await server.incus?.sync()
    sim.failAlways('truncated')
    await server.incus?.sync()
    expect(server.incus?.stats.syncErrors).toBe(errorsBefore + 3)
    expect(await a(`web.${S}`)).toEqual([`web.${S}. 30 IN A 10.42.0.15`])
    expect(await a(`api.staging.${S}`)).toHaveLength(1)
    expect(lines.some((l) => l.msg === 'Incus sync failed; keeping the last good records' && String(l.err).includes('500 boom'))).toBe(true)
    expect(lines.some((l) => String(l.err).includes('not JSON'))).toBe(true)
    sim.failAlways(null)
    await server.incus?.sync()
    expect(lines.at(-1)?.msg === 'Incus answers again' || lines.some((l) => l.msg === 'Incus answers again')).toBe(true)
  })

  it('events out of order (deleted before created/started) end in the true state', async () => {
    sim.events.reorder = true
    sim.launch({ name: 'flash', ipv4: '10.42.0.105' })
    sim.delete('default', 'flash')
    sim.launch({ name: 'stays', ipv4: '10.42.0.106' })
    sim.events.reorder = false
    await until(async () => (await a(`stays.${S}`)).length === 1)
    await new Promise((r) => setTimeout(r, 100))
    expect(await rcode(`flash.${S}`)).toBe('NXDOMAIN')
  })

  it('an Error stub (offline cluster member) keeps its last records', async () => {
    sim.get('default', 'web').stub = true
    sim.get('default', 'web').status = 'Error'
    await server.incus?.sync()
    expect(await a(`web.${S}`)).toEqual([`web.${S}. 30 IN A 10.42.0.15`])
    sim.get('default', 'web').stub = false
    sim.get('default', 'web').status = 'Running'
  })

  it('two instances claiming one name: a deterministic winner and a warning', async () => {
    sim.launch({ name: 'b-claim', ipv4: '10.42.0.111', config: { 'user.dns.hostname': 'dup' } })
    sim.launch({ name: 'a-claim', ipv4: '10.42.0.110', config: { 'user.dns.hostname': 'dup' } })
    await until(async () => (await a(`dup.${S}`))[0] === `dup.${S}. 30 IN A 10.42.0.110`)
    expect(lines.some((l) => l.msg.startsWith('two instances claim one name') && l.winner === 'default/a-claim')).toBe(true)
    expect(server.incus?.records.conflicts).toBeGreaterThan(0)
  })

  it('several instances sharing an alias answer it with all their addresses', async () => {
    sim.launch({ name: 'rep1', ipv4: '10.42.0.121', config: { 'user.dns.aliases': 'svc' } })
    sim.launch({ name: 'rep2', ipv4: '10.42.0.122', config: { 'user.dns.aliases': 'svc' } })
    // Both A records (one replica's alias alone is a CNAME and its A: two lines too, before the second lands).
    await until(async () => (await a(`svc.${S}`)).filter((l) => l.includes(' IN A ')).length === 2)
    expect([...(await a(`svc.${S}`))].sort()).toEqual([`svc.${S}. 30 IN A 10.42.0.121`, `svc.${S}. 30 IN A 10.42.0.122`])
  })

  it('an instance launched while a full sync lists is kept: the read after its event is newer than the listing', async () => {
    // Found by bench/incus.ts hanging: the instance answered after its event, then a listing taken before it
    // existed removed it again, until the next sync (10 minutes in that benchmark).
    sim.listingDelayMs = 400
    try {
      const asked = sim.requests.length
      const syncing = server.incus?.sync()
      await waitFor(async () => sim.requests.slice(asked).some((r) => r.startsWith('GET /1.0/instances?recursion=2')), 5000)
      sim.launch({ name: 'late', ipv4: '10.42.0.88' })
      await until(async () => (await a(`late.${S}`)).length === 1)
      await syncing
      expect(await a(`late.${S}`)).toEqual([`late.${S}. 30 IN A 10.42.0.88`])
      // And the next sync, whose listing has it, keeps it as it is.
      sim.listingDelayMs = 0
      await server.incus?.sync()
      expect(await a(`late.${S}`)).toEqual([`late.${S}. 30 IN A 10.42.0.88`])
      // A delete while a listing that still has the instance is on its way: it stays deleted.
      sim.listingDelayMs = 400
      const asked2 = sim.requests.length
      const again = server.incus?.sync()
      await waitFor(async () => sim.requests.slice(asked2).some((r) => r.startsWith('GET /1.0/instances?recursion=2')), 5000)
      sim.delete('default', 'late')
      await until(async () => (await rcode(`late.${S}`)) === 'NXDOMAIN')
      await again
      expect(await rcode(`late.${S}`)).toBe('NXDOMAIN')
    } finally {
      sim.listingDelayMs = 0
    }
  })

  it('logs one line per meaningful change, none per query', async () => {
    const before = lines.filter((l) => l.level >= 30).length
    for (let i = 0; i < 20; i++) await a(`web.${S}`)
    expect(lines.filter((l) => l.level >= 30).length).toBe(before)
  })
})
