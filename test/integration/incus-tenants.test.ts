/**
 * Tenants and imperfect fleets, against the simulated Incus (issue 24): a hostile tenant's keys cannot take a
 * zone down, reach into a reverse zone or another project's names, and what they asked for is on the status
 * page, in /status.json, in the metrics and in the log once; a state file holding such an instance replays
 * through the same rules; one structurally odd instance fails only itself; instances waiting for an address
 * family that never comes are polled within the request budget, fall back to listings, back off when Incus
 * fails, and say so when the watch gives up; a flapping event stream lists at most once per interval; a health
 * flip logs at debug.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { SimIncus } from '../../src/sim/server.ts'
import { ask, rdata } from '../helpers/answers.ts'
import { simSocket, startWithIncus } from '../helpers/incus.ts'
import type { LogLine } from '../helpers/incus.ts'
import { waitFor } from '../helpers/net.ts'
import { statusOf } from '../helpers/server.ts'
import type { TestServer } from '../helpers/server.ts'

const ZONES = new URL('../../zones/', import.meta.url).pathname
const S = 'incus.example.org'
const REVERSE = '0.42.10.in-addr.arpa'

describe('tenants and imperfect fleets (simulated Incus)', () => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => { for (const c of cleanups.splice(0)) await c() })
  const start = async (args: string[] = [], overrides = {}, setup: (sim: SimIncus) => void = () => {}): Promise<{ sim: SimIncus; dns: TestServer; lines: LogLine[]; socket: string }> => {
    const { sim, socket } = await simSocket()
    setup(sim)
    const { server: dns, lines } = await startWithIncus(ZONES, ['--incus-socket', socket, '--suffix', S, '--poll-interval', '60s', ...args], overrides)
    cleanups.push(async () => { await dns.stop(); await sim.close() })
    await waitFor(() => dns.incus?.ready === true && dns.incus.eventsConnected, 5000)
    return { sim, dns, lines, socket }
  }
  const metric = async (dns: TestServer, name: string): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${dns.http?.address.port}/metrics`)).text()
    const line = text.split('\n').find((l) => l.startsWith(name + ' '))
    return line === undefined ? NaN : Number(line.slice(name.length + 1))
  }

  it("a tenant's hostile keys change nothing outside its own names, and the refusals show everywhere, once in the log", async () => {
    const { sim, dns, lines } = await start([], {}, (s) => {
      s.launch({ name: 'db', ipv4: '10.42.0.5' })
      s.launch({ name: 'web', project: 'tenant', ipv4: '10.42.0.6' })
    })
    const soa = /^ns\.incus\.example\.org\. hostmaster\.incus\.example\.org\. \d+ 3600 600 86400 30$/
    expect((await rdata(dns.port, S, 'SOA'))[0]).toMatch(soa)
    sim.setConfig('tenant', 'web', 'user.dns.hostname', `${S}.`)
    sim.setConfig('tenant', 'web', 'user.dns.aliases', `*.${S}.,0.42.10.in-addr.arpa.,shop.${S}.,www`)
    sim.setConfig('tenant', 'web', 'user.dns.service', `5.${REVERSE}.`)
    await waitFor(async () => (await statusOf(dns)).refusals.length === 5, 3000)
    // The zones still answer as before: SOA at both apexes, NXDOMAIN for typos, the other project's PTR.
    expect(await rdata(dns.port, S, 'SOA')).toEqual([expect.stringMatching(soa)])
    expect((await ask(dns.port, REVERSE, 'SOA')).answer).toHaveLength(1)
    expect((await ask(dns.port, `typo.${S}`)).rcode).toBe(3)
    expect((await ask(dns.port, `shop.${S}`)).rcode).toBe(3)
    expect(await rdata(dns.port, `db.${S}`)).toEqual(['10.42.0.5'])
    expect(await rdata(dns.port, `5.${REVERSE}`, 'PTR')).toEqual([`db.${S}.`])
    // Its own names still answer: <name>.<project>.<suffix> and an alias under it.
    expect(await rdata(dns.port, `web.tenant.${S}`)).toEqual(['10.42.0.6'])
    expect((await ask(dns.port, `www.tenant.${S}`)).answer).toEqual([`www.tenant.${S}. 30 IN CNAME web.tenant.${S}.`, `web.tenant.${S}. 30 IN A 10.42.0.6`])
    const s = await statusOf(dns)
    expect(s.refusals.map((r) => [r.key, r.name, r.reason])).toEqual([
      ['user.dns.aliases', `*.${S}`, 'wildcard'],
      ['user.dns.aliases', REVERSE, 'apex'],
      ['user.dns.service', `5.${REVERSE}`, 'reverse'],
      ['user.dns.hostname', S, 'apex'],
      ['user.dns.aliases', `shop.${S}`, 'project'],
    ].sort((a, b) => (a[1] as string < (b[1] as string) ? -1 : 1)))
    expect(s.instances.find((r) => r.instance === 'tenant/web')?.detail).toContain(`user.dns.hostname=${S} (apex)`)
    const page = await (await fetch(`http://127.0.0.1:${dns.http?.address.port}/`)).text()
    expect(page).toContain('<h2>Names refused</h2>')
    expect(page).toContain(`INCUS_DNS_PROJECT_NAMES=tenant=shop.${S}`)
    const metrics = await (await fetch(`http://127.0.0.1:${dns.http?.address.port}/metrics`)).text()
    expect(metrics).toContain('incus_dns_names_refused{reason="apex"} 2')
    expect(metrics).toContain('incus_dns_names_refused{reason="project"} 1')
    // Settled again and again (more events, a sync): each refusal logged once.
    sim.setConfig('tenant', 'web', 'user.note', 'x')
    await dns.incus?.sync()
    const logged = lines.filter((l) => l.msg.startsWith('name refused'))
    expect(logged).toHaveLength(5)
    expect(logged[0]).toMatchObject({ instance: 'tenant/web', key: expect.any(String), name: expect.any(String), rule: expect.any(String), fix: expect.any(String) })
    // Gone: nothing lingers, and the apexes are still the zones'.
    sim.delete('tenant', 'web')
    await waitFor(async () => (await statusOf(dns)).refusals.length === 0, 3000)
    expect(await rdata(dns.port, S, 'SOA')).toHaveLength(1)
    expect((await ask(dns.port, `web.tenant.${S}`)).rcode).toBe(3)
    expect(await metric(dns, 'incus_dns_names_refused{reason="apex"}')).toBe(0)
  })

  it('a state file holding a hostile instance replays through the same rules while Incus is down', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'idns-state-')), 'state.json')
    const first = await start(['--state-file', file], {}, (s) => s.launch({ name: 'web', project: 'tenant', ipv4: '10.42.0.6', config: { 'user.dns.hostname': `${S}.` } }))
    await waitFor(async () => (await statusOf(first.dns)).refusals.length === 1, 3000)
    await first.dns.stop()
    await first.sim.close()
    cleanups.splice(0)
    // Incus gone: the state file is all there is.
    const { server: dns } = await startWithIncus(ZONES, ['--incus-socket', join(tmpdir(), `idns-nothing-${process.pid}.socket`), '--suffix', S, '--state-file', file])
    cleanups.push(async () => { await dns.stop() })
    await waitFor(() => dns.incus?.restored === true, 5000)
    expect(await rdata(dns.port, S, 'SOA')).toHaveLength(1)
    expect(await rdata(dns.port, `web.tenant.${S}`)).toEqual(['10.42.0.6'])
    expect((await statusOf(dns)).refusals.map((r) => r.reason)).toEqual(['apex'])
  })

  it.each([
    ['a config value that is not a string', (j: Record<string, unknown>) => { (j.expanded_config as Record<string, unknown>)['user.dns.aliases'] = 42 }, "expanded_config key 'user.dns.aliases' is a number, not a string"],
    ['a NIC device that is null', (j: Record<string, unknown>) => { (j.expanded_devices as Record<string, unknown>).eth0 = null }, "expanded_devices device 'eth0' is null, not an object"],
    ['state.network as a list', (j: Record<string, unknown>) => { (j.state as Record<string, unknown>).network = [] }, 'state.network is a list, not a map of interfaces'],
  ])('one odd instance (%s) fails only itself: its last records stay, one warning names it, the rest of each sync goes on', async (_what, edit, problem) => {
    const { sim, dns, lines } = await start([], {}, (s) => { s.launch({ name: 'odd', ipv4: '10.42.0.7' }); s.launch({ name: 'web', ipv4: '10.42.0.8' }) })
    sim.oddly('default', 'odd', edit)
    await waitFor(async () => (await statusOf(dns)).unreadable.length === 1, 3000)
    sim.launch({ name: 'later', ipv4: '10.42.0.9' })
    await dns.incus?.sync()
    await dns.incus?.sync()
    expect(await rdata(dns.port, `later.${S}`)).toEqual(['10.42.0.9'])
    expect(await rdata(dns.port, `odd.${S}`)).toEqual(['10.42.0.7'])
    expect(dns.incus?.stats.syncErrors).toBe(0)
    expect((await statusOf(dns)).unreadable).toEqual([{ instance: 'default/odd', problem }])
    expect(lines.filter((l) => l.msg.startsWith('Incus sent an instance incus-dns cannot read'))).toEqual([expect.objectContaining({ instance: 'default/odd', problem })])
    expect(await metric(dns, 'incus_dns_incus_unreadable_instances')).toBe(1)
    // Readable again: listed no more, and its changes publish.
    sim.oddly('default', 'odd', null)
    sim.setAddresses('default', 'odd', '10.42.0.17', null)
    await dns.incus?.sync()
    expect(await rdata(dns.port, `odd.${S}`)).toEqual(['10.42.0.17'])
    expect((await statusOf(dns)).unreadable).toEqual([])
  })

  it('a lease without hwaddr and a network without config are left out, not fatal', async () => {
    const { sim, dns } = await start([], {}, (s) => s.launch({ name: 'web', ipv4: '10.42.0.8' }))
    sim.oddly('default', 'web', (j) => { (j.state as Record<string, unknown>).network = {} }) // a VM without its agent: leases are read
    sim.oddEntries.leases.push({ hostname: 'x', address: '10.42.0.200', type: 'dynamic' }, null, 'text')
    sim.oddEntries.networks.push({ name: 'odd', managed: true, config: null }, { name: 7 })
    sim.launch({ name: 'after', ipv4: '10.42.0.9' })
    await dns.incus?.sync()
    expect(dns.incus?.stats.syncErrors).toBe(0)
    expect(await rdata(dns.port, `after.${S}`)).toEqual(['10.42.0.9'])
    expect(sim.requests.some((r) => r.includes('/leases'))).toBe(true)
  })

  it('instances waiting for an address family that never comes: GETs within the budget, listings instead, and the status says when the watch gave up', async () => {
    const n = 120
    const rate = 20
    const { sim, dns } = await start(['--incus-request-rate', String(rate)], { addressPoll: { firstMs: 20, fastForMs: 1500, maxMs: 200, giveUpMs: 2500, guessGiveUpMs: 2500 } }, (s) => {
      for (let i = 0; i < n; i++) s.launch({ name: `v4only${i}`, ipv4: `10.42.1.${i}`, ipv6: null })
    })
    const gets = (): number => sim.requests.filter((r) => /^GET \/1\.0\/instances\/v4only/.test(r)).length
    const listings = (): number => sim.requests.filter((r) => r.startsWith('GET /1.0/instances?recursion=2')).length
    const t0 = Date.now()
    const [g0, l0] = [gets(), listings()]
    await new Promise((r) => setTimeout(r, 2000))
    const seconds = (Date.now() - t0) / 1000
    const sent = gets() - g0
    console.log(`${n} IPv4-only instances on a dual-stack bridge, budget ${rate}/s: ${sent} GETs and ${listings() - l0} listings in ${seconds.toFixed(1)} s`)
    expect(sent).toBeLessThanOrEqual(Math.ceil(rate * seconds) + rate) // the budget, and its one-second burst
    expect(listings() - l0).toBeGreaterThanOrEqual(1)
    // Every name answers with its IPv4 all along.
    expect(await rdata(dns.port, `v4only7.${S}`)).toEqual(['10.42.1.7'])
    await waitFor(() => dns.incus?.addressWatch.gaveUpCount === n, 5000)
    const row = (await statusOf(dns)).instances.find((r) => r.instance === 'default/v4only7')
    expect(row?.detail).toMatch(/^answers; no IPv6 after \d+ s of polling: the watch gave up, the full sync every 60 s looks again/)
    expect(await metric(dns, 'incus_dns_incus_address_watch{state="gave_up"}')).toBe(n)
    const quiet = gets()
    await new Promise((r) => setTimeout(r, 500))
    expect(gets()).toBe(quiet)
    // Every GET it sent is counted (the instances were launched before the stream was up: all are polls).
    expect(dns.incus?.fetched.address).toBe(gets())
    expect(await metric(dns, 'incus_dns_incus_requests_total{kind="address"}')).toBe(gets())
    expect(await metric(dns, 'incus_dns_incus_requests_total{kind="listing"}')).toBe(listings())
  })

  it('Incus failing the polls: each instance backs off, and the fault is logged once per kind and minute, worded for the poll', async () => {
    const { sim, dns, lines } = await start(['--incus-request-rate', '1000'], { addressPoll: { firstMs: 20, fastForMs: 10_000, maxMs: 1000, giveUpMs: 60_000, guessGiveUpMs: 60_000 } }, (s) => {
      for (let i = 0; i < 5; i++) s.launch({ name: `v4only${i}`, ipv4: `10.42.1.${i}`, ipv6: null })
    })
    sim.failAlways({ status: 500, error: 'database is locked' })
    const g0 = sim.requests.length
    await new Promise((r) => setTimeout(r, 2000))
    sim.failAlways(null)
    const sent = sim.requests.slice(g0).filter((r) => /^GET \/1\.0\/instances\/v4only/.test(r)).length
    // Without backoff: 5 instances every 20 ms, ~500 in 2 s. With it: 20, 40, 80, ... ms apart, about 8 each.
    console.log(`5 instances polled while Incus answers 500: ${sent} GETs in 2 s`)
    expect(sent).toBeLessThan(60)
    const warned = lines.filter((l) => l.level === 40 && typeof l.msg === 'string' && l.msg.includes('address the watch waits for'))
    expect(warned).toHaveLength(1)
    expect(lines.some((l) => l.msg.includes('after its event'))).toBe(false)
    expect(dns.incus?.ready).toBe(true)
  })

  it('a flapping event stream lists every instance at most once per poll interval after the first reconnection', async () => {
    const { sim, dns } = await start(['--poll-interval', '5s'])
    const listings = (): number => sim.requests.filter((r) => r.startsWith('GET /1.0/instances?recursion=2')).length
    const l0 = listings()
    for (let i = 0; i < 6; i++) {
      sim.dropEventStreams()
      await waitFor(() => dns.incus?.eventsConnected === false, 2000).catch(() => {})
      await waitFor(() => dns.incus?.eventsConnected === true, 3000)
    }
    await new Promise((r) => setTimeout(r, 300))
    expect(dns.incus?.reconnects).toBeGreaterThanOrEqual(6)
    expect(listings() - l0).toBeLessThanOrEqual(2)
  })

  it('a health flip that changes no name logs at debug; an instance with many aliases logs a few and the count', async () => {
    const aliases = Array.from({ length: 300 }, (_, i) => `a${i}`).join(',')
    const { sim, lines } = await start([], {}, (s) => s.launch({ name: 'web', ipv4: '10.42.0.8', config: { 'user.dns.aliases': aliases, 'user.dns.service': 'shop' } }))
    const published = lines.filter((l) => l.msg === 'instance published')
    expect(published).toHaveLength(1)
    expect(published[0]).toMatchObject({ aliasCount: 300, aliases: ['a0.incus.example.org', 'a1.incus.example.org', 'a2.incus.example.org', 'a3.incus.example.org', 'a4.incus.example.org', '... 295 more'] })
    for (const h of ['unhealthy', 'healthy', 'unhealthy', 'healthy']) {
      sim.setConfig('default', 'web', 'user.healthcheck.status', h)
      await new Promise((r) => setTimeout(r, 60))
    }
    expect(lines.filter((l) => l.msg === 'instance published')).toHaveLength(1)
    expect(lines.filter((l) => l.level >= 30 && JSON.stringify(l).length > 2000)).toEqual([])
  })
})
