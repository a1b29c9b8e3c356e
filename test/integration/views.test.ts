/**
 * Split horizon against the simulated Incus: clients in different views, told apart by loopback source
 * addresses (dig -b 127.0.0.x), each get the address of an instance they can reach, for its name, its alias
 * and its PTR, over UDP and TCP; the default view is as before, user.dns.nic picks its NIC; zone transfers and
 * /zone serve the default view; the metrics and the status page say which view answered.
 */
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
// incusbr0 is 10.42.0.0/24 + fd42:4c81:5770:1eaf::/64, incusbr1 10.43.0.0/24 + fd42:4c81:5770:2eaf::/64 (src/sim/model.ts).
const VIEWS = 'br0=127.0.0.2>incusbr0; br1=127.0.0.3,127.0.0.4,::1>incusbr1; lan=127.0.0.5>192.0.2.0/24'

describe.skipIf(!havePeer('dig', 'bind9-dnsutils'))('split horizon (INCUS_DNS_VIEWS) with the simulated Incus', () => {
  let sim: SimIncus
  let server: TestServer
  let lines: LogLine[]
  const from = async (source: string, name: string, type = 'A', tcp = false): Promise<readonly string[]> =>
    (await dig('127.0.0.1', server.port, name, type, { tcp, args: ['-b', source] })).answer
  const until = (check: () => Promise<boolean>, ms = 5000): Promise<void> => waitFor(check, ms, () => lines.slice(-5).map((l) => l.msg).join(' | '))

  beforeAll(async () => {
    const s = await simSocket()
    sim = s.sim
    sim.launch({
      name: 'multi', ipv4: '10.42.0.50', ipv6: 'fd42:4c81:5770:1eaf::50', config: { 'user.dns.aliases': 'www' },
      nics: [{ device: 'eth1', network: 'incusbr1', ipv4: '10.43.0.50', ipv6: 'fd42:4c81:5770:2eaf::50' }],
    })
    sim.launch({ name: 'single', ipv4: '10.42.0.60' })
    sim.launch({
      name: 'pick', ipv4: '10.42.0.70', config: { 'user.dns.nic': 'eth1' },
      nics: [{ device: 'eth1', network: 'incusbr1', ipv4: '10.43.0.70' }],
    })
    // Only its second NIC has an IPv6 address in incusbr1's view: that view gives its A there and its AAAA.
    sim.launch({ name: 'v6only', ipv4: '10.42.0.80', nics: [{ device: 'eth1', network: 'incusbr1', ipv6: 'fd42:4c81:5770:2eaf::80' }] })
    const started = await startWithIncus(ZONES, ['--incus-socket', s.socket, '--suffix', S, '--poll-interval', '60s', '--views', VIEWS, '--xfr-allow', '127.0.0.0/8'])
    server = started.server
    lines = started.lines
    await waitFor(() => server.incus?.ready === true, 5000)
  })
  afterAll(async () => { await server?.stop(); await sim?.close() })

  it('answers each view with the address on its network, and every other client as the default view does', async () => {
    expect(await from('127.0.0.1', `multi.${S}`)).toEqual([`multi.${S}. 30 IN A 10.42.0.50`])
    expect(await from('127.0.0.2', `multi.${S}`)).toEqual([`multi.${S}. 30 IN A 10.42.0.50`])
    expect(await from('127.0.0.3', `multi.${S}`)).toEqual([`multi.${S}. 30 IN A 10.43.0.50`])
    expect(await from('127.0.0.4', `multi.${S}`, 'AAAA')).toEqual([`multi.${S}. 30 IN AAAA fd42:4c81:5770:2eaf::50`])
    expect(await from('127.0.0.1', `multi.${S}`, 'AAAA')).toEqual([`multi.${S}. 30 IN AAAA fd42:4c81:5770:1eaf::50`])
    // Over TCP too: the connection's peer picks the view.
    expect(await from('127.0.0.3', `multi.${S}`, 'A', true)).toEqual([`multi.${S}. 30 IN A 10.43.0.50`])
  })

  it('picks the view of an IPv6 client too, over UDP and TCP', async () => {
    for (const tcp of [false, true]) {
      expect((await dig('::1', server.port6, `multi.${S}`, 'AAAA', { tcp })).answer).toEqual([`multi.${S}. 30 IN AAAA fd42:4c81:5770:2eaf::50`])
    }
  })

  it('follows the view through a CNAME: the alias chain ends at the view\'s address', async () => {
    expect(await from('127.0.0.3', `www.${S}`)).toEqual([`www.${S}. 30 IN CNAME multi.${S}.`, `multi.${S}. 30 IN A 10.43.0.50`])
    expect(await from('127.0.0.1', `www.${S}`)).toEqual([`www.${S}. 30 IN CNAME multi.${S}.`, `multi.${S}. 30 IN A 10.42.0.50`])
  })

  it('an instance with no address in a view answers there as in the default view', async () => {
    expect(await from('127.0.0.3', `single.${S}`)).toEqual([`single.${S}. 30 IN A 10.42.0.60`])
    expect(await from('127.0.0.5', `multi.${S}`)).toEqual([`multi.${S}. 30 IN A 10.42.0.50`])
  })

  it('a view never mixes its addresses with the default view\'s: an instance with only IPv6 there has NODATA for A', async () => {
    expect(await from('127.0.0.3', `v6only.${S}`, 'AAAA')).toEqual([`v6only.${S}. 30 IN AAAA fd42:4c81:5770:2eaf::80`])
    const a = await dig('127.0.0.1', server.port, `v6only.${S}`, 'A', { args: ['-b', '127.0.0.3'] })
    expect(a.rcode).toBe('NOERROR')
    expect(a.answer).toEqual([])
    expect(await from('127.0.0.1', `v6only.${S}`)).toEqual([`v6only.${S}. 30 IN A 10.42.0.80`])
  })

  it('PTRs follow the views: each view has the PTRs of the addresses it gives', async () => {
    const ptr = '50.0.43.10.in-addr.arpa'
    expect(await from('127.0.0.3', ptr, 'PTR')).toEqual([`${ptr}. 30 IN PTR multi.${S}.`])
    const fromDefault = await dig('127.0.0.1', server.port, ptr, 'PTR', { args: ['-b', '127.0.0.1'] })
    expect(fromDefault.rcode).toBe('NXDOMAIN')
    expect(await from('127.0.0.1', '50.0.42.10.in-addr.arpa', 'PTR')).toEqual([`50.0.42.10.in-addr.arpa. 30 IN PTR multi.${S}.`])
  })

  it('user.dns.nic picks the NIC of the default view', async () => {
    expect(await from('127.0.0.1', `pick.${S}`)).toEqual([`pick.${S}. 30 IN A 10.43.0.70`])
    expect(await from('127.0.0.2', `pick.${S}`)).toEqual([`pick.${S}. 30 IN A 10.42.0.70`])
    sim.setConfig('default', 'pick', 'user.dns.nic', 'eth0')
    await until(async () => (await from('127.0.0.1', `pick.${S}`))[0] === `pick.${S}. 30 IN A 10.42.0.70`)
    sim.setConfig('default', 'pick', 'user.dns.nic', 'eth7')
    await until(async () => lines.some((l) => l.msg === 'instance configuration problem' && String(l.problem).includes('user.dns.nic=eth7')))
    expect(await from('127.0.0.1', `pick.${S}`)).toEqual([`pick.${S}. 30 IN A 10.42.0.70`])
  })

  it('live changes reach every view: a new instance on both bridges, then its deletion', async () => {
    sim.launch({ name: 'late', ipv4: '10.42.0.90', nics: [{ device: 'eth1', network: 'incusbr1', ipv4: '10.43.0.90' }] })
    await until(async () => (await from('127.0.0.3', `late.${S}`)).length === 1)
    expect(await from('127.0.0.3', `late.${S}`)).toEqual([`late.${S}. 30 IN A 10.43.0.90`])
    expect(await from('127.0.0.2', `late.${S}`)).toEqual([`late.${S}. 30 IN A 10.42.0.90`])
    sim.delete('default', 'late')
    await until(async () => (await from('127.0.0.3', `late.${S}`)).length === 0 && (await from('127.0.0.1', `late.${S}`)).length === 0)
  })

  it("a second NIC's address that comes later, with no event, is published in its view by the address watch", async () => {
    sim.launch({ name: 'slow', ipv4: '10.42.0.91', ipv6: 'fd42:4c81:5770:1eaf::91', nics: [{ device: 'eth1', network: 'incusbr1', ipv4: '10.43.0.91', ipv6: 'fd42:4c81:5770:2eaf::91', afterMs: 400 }] })
    await until(async () => (await from('127.0.0.1', `slow.${S}`)).length === 1)
    const t0 = Date.now()
    await until(async () => (await from('127.0.0.3', `slow.${S}`))[0] === `slow.${S}. 30 IN A 10.43.0.91`, 3000)
    expect(Date.now() - t0).toBeLessThan(1500)
    sim.delete('default', 'slow')
  })

  it('zone files are in every view', async () => {
    expect(await from('127.0.0.3', 'www.example.org')).toContain('web.example.org. 3600 IN A 192.0.2.80')
  })

  it('AXFR and /zone serve the default view', async () => {
    const axfr = await dig('127.0.0.1', server.port, S, 'AXFR', { args: ['-b', '127.0.0.3'] })
    const records = axfr.raw.split('\n').filter((l) => l !== '' && !l.startsWith(';')).map((l) => l.trim().split(/\s+/).join(' '))
    const multi = records.filter((l) => l.startsWith(`multi.${S}.`) && l.includes(' IN A '))
    expect(multi).toEqual([`multi.${S}. 30 IN A 10.42.0.50`])
    const zone = await (await fetch(`http://127.0.0.1:${server.http?.address.port}/zone`)).text()
    expect(zone).toContain('10.42.0.50')
    expect(zone).not.toContain('10.43.0.50')
  })

  it("/zone?view= shows a view's records, and names the views for one that does not exist", async () => {
    const base = `http://127.0.0.1:${server.http?.address.port}/zone`
    type Dump = { records: { name: string; type: string; data: { address?: string }; source: string; instances?: string[] }[] }
    const br1 = await (await fetch(`${base}?view=br1`)).json() as Dump
    expect(br1.records.filter((r) => r.name === `multi.${S}` && r.type === 'A')).toEqual([
      { name: `multi.${S}`, type: 'A', ttl: 30, data: { address: '10.43.0.50' }, source: 'incus', instances: ['default/multi'] }])
    const dflt = await (await fetch(`${base}?view=default`)).json() as Dump
    expect(dflt.records.find((r) => r.name === `multi.${S}` && r.type === 'A')?.data.address).toBe('10.42.0.50')
    const missing = await fetch(`${base}?view=nope`)
    expect(missing.status).toBe(404)
    expect(await missing.json()).toEqual({ error: 'no view nope', views: ['default', 'br0', 'br1', 'lan'] })
  })

  it('the metrics and the status page say which view answered', async () => {
    const base = `http://127.0.0.1:${server.http?.address.port}`
    const metrics = await (await fetch(`${base}/metrics`)).text()
    const count = (view: string): number => Number(new RegExp(`^incus_dns_view_queries_total\\{view="${view}"\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? -1)
    expect(count('br1')).toBeGreaterThanOrEqual(8)
    expect(count('br0')).toBeGreaterThanOrEqual(3)
    expect(count('default')).toBeGreaterThanOrEqual(5)
    expect(count('lan')).toBeGreaterThanOrEqual(1)
    const status = await (await fetch(`${base}/status.json`)).json() as { views: { view: string; clients: string[]; sees: string[]; queries: number }[]; instances: { instance: string; views: { view: string; ipv4: string | null }[] }[] }
    expect(status.views.map((v) => v.view)).toEqual(['default', 'br0', 'br1', 'lan'])
    expect(status.views.find((v) => v.view === 'br1')).toMatchObject({ clients: ['127.0.0.3/32', '127.0.0.4/32', '::1/128'], sees: ['10.43.0.0/24', 'fd42:4c81:5770:2eaf::/64'] })
    expect(status.views.find((v) => v.view === 'br1')?.queries).toBe(count('br1'))
    expect(status.instances.find((i) => i.instance === 'default/multi')?.views).toEqual([{ view: 'br1', ipv4: '10.43.0.50', ipv6: 'fd42:4c81:5770:2eaf::50' }])
    const page = await (await fetch(`${base}/`)).text()
    expect(page).toContain('<h2>Views</h2>')
    expect(page).toContain('br1: 10.43.0.50 fd42:4c81:5770:2eaf::50')
  })
})

describe.skipIf(!havePeer('dig', 'bind9-dnsutils'))('split horizon after a warm restart while Incus is down', () => {
  it("answers each view from the state file, the views' Incus networks included", async () => {
    const stateFile = join(mkdtempSync(join(tmpdir(), 'incus-dns-views-state-')), 'state.json')
    const s = await simSocket()
    s.sim.launch({ name: 'multi', ipv4: '10.42.0.50', nics: [{ device: 'eth1', network: 'incusbr1', ipv4: '10.43.0.50' }] })
    const args = ['--incus-socket', s.socket, '--suffix', S, '--poll-interval', '60s', '--views', 'br1=127.0.0.3>incusbr1', '--state-file', stateFile]
    const one = (await startWithIncus(ZONES, args)).server
    await waitFor(() => existsSync(stateFile), 5000)
    await one.stop()
    await s.sim.close() // Incus is down now
    const two = (await startWithIncus(ZONES, args)).server
    try {
      const from = async (source: string): Promise<readonly string[]> => (await dig('127.0.0.1', two.port, `multi.${S}`, 'A', { args: ['-b', source] })).answer
      await waitFor(async () => (await from('127.0.0.1')).length === 1, 5000)
      expect(two.incus?.restored).toBe(true)
      expect(await from('127.0.0.3')).toEqual([`multi.${S}. 30 IN A 10.43.0.50`])
      expect(await from('127.0.0.1')).toEqual([`multi.${S}. 30 IN A 10.42.0.50`])
    } finally {
      await two.stop()
    }
  })
})
