/**
 * Catalog zones (issue 28) with a real consumer: a knotd whose configuration names only incus-dns's catalog
 * (catalog-role: interpret, a template per group, refresh timers of a day so that only NOTIFY moves it) serves
 * every member zone with AA; a new bridge's reverse zone and a new zone file appear on it within seconds; a
 * member that goes is purged; record changes in members still arrive by IXFR; and a restart of incus-dns
 * purges and adds nothing.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SimIncus } from '../../src/sim/server.ts'
import { memberId } from '../../src/zone/catalog.ts'
import { havePeer } from '../helpers/binaries.ts'
import { kdig } from '../helpers/dig.ts'
import { simSocket, startWithIncus } from '../helpers/incus.ts'
import { freePort, waitFor } from '../helpers/net.ts'
import { knotCatalogConsumer } from '../helpers/secondaries.ts'
import type { Secondary } from '../helpers/secondaries.ts'
import { statusOf } from '../helpers/server.ts'
import type { TestServer } from '../helpers/server.ts'

const CAT = 'catalog.incus-dns.invalid'
const S = 'incus.example.org'
const KEY = { name: 'xfr', secret: Buffer.alloc(32, 7).toString('base64') }
const REPO_ZONES = new URL('../../zones/', import.meta.url).pathname

describe.skipIf(!havePeer('knotd', 'knot') || !havePeer('kdig', 'knot-dnsutils'))('a catalog zone with knotd as its consumer', () => {
  let sim: SimIncus
  let socket: string
  let server: TestServer
  let knot: Secondary & { readonly dir: string }
  let knotPort: number
  let zones: string
  const args = (): string[] => ['--incus-socket', socket, '--suffix', S, '--catalog', CAT, '--xfr-allow', '127.0.0.1/32',
    '--notify', `127.0.0.1:${knotPort}`, '--tsig-key', `${KEY.name}:${KEY.secret}`, '--poll-interval', '60s']
  /** Whether knotd serves `zone` (authoritatively, as a zone of its own), asked without recursion. */
  const served = async (zone: string): Promise<boolean> => {
    const r = await kdig('127.0.0.1', knotPort, zone, 'SOA')
    return r.rcode === 'NOERROR' && r.flags.includes('aa') && r.answer.length === 1
  }
  const knotLog = (): string => knot.log()
  const within = async (what: string, check: () => Promise<boolean>, ms: number): Promise<number> => {
    const t0 = performance.now()
    await waitFor(check, ms, () => `${what}; knotd said:\n${knotLog().split('\n').slice(-15).join('\n')}`)
    return performance.now() - t0
  }

  beforeAll(async () => {
    zones = mkdtempSync(join(tmpdir(), 'incus-dns-catalog-'))
    copyFileSync(join(REPO_ZONES, 'example.org.zone'), join(zones, 'example.org.zone'))
    const s = await simSocket()
    sim = s.sim
    socket = s.socket
    sim.launch({ name: 'web', ipv4: '10.42.0.15', ipv6: 'fd42:4c81:5770:1eaf::15' })
    knotPort = await freePort()
    server = (await startWithIncus(zones, args())).server
    knot = knotCatalogConsumer(knotPort, server.port, CAT, KEY, ['incus', 'reverse', 'file'])
  })
  afterAll(async () => {
    await knot?.stop()
    await server?.stop()
    await sim?.close()
    rmSync(zones, { recursive: true, force: true })
  })

  it('knotd, told only of the catalog, serves every member zone with AA, each by the template of its group', async () => {
    await waitFor(() => server.catalog?.started === true, 5000)
    const members = server.catalog?.members() ?? []
    expect(members.map((m) => [m.zone, m.group])).toEqual([
      ['0.42.10.in-addr.arpa', 'reverse'], ['0.43.10.in-addr.arpa', 'reverse'], ['example.org', 'file'],
      ['f.a.e.1.0.7.7.5.1.8.c.4.2.4.d.f.ip6.arpa', 'reverse'], ['f.a.e.2.0.7.7.5.1.8.c.4.2.4.d.f.ip6.arpa', 'reverse'], [S, 'incus'],
    ])
    for (const m of members) await within(`knotd serves ${m.zone}`, () => served(m.zone), 10_000)
    // Each by its group's template: the one that writes its zone file into that group's folder.
    for (const m of members) await within(`knotd writes ${m.zone} under ${m.group}/`, async () => existsSync(join(knot.dir, m.group, `${m.zone}.zone`)), 5000)
    expect((await kdig('127.0.0.1', knotPort, `web.${S}`, 'A')).answer).toEqual([`web.${S}. 30 IN A 10.42.0.15`])
    expect((await kdig('127.0.0.1', knotPort, '15.0.42.10.in-addr.arpa', 'PTR')).answer).toEqual([`15.0.42.10.in-addr.arpa. 30 IN PTR web.${S}.`])
    expect(knotLog().match(/zone added from catalog/g)).toHaveLength(members.length)
    // The catalog itself went by AXFR, signed (knotd has only the key to ask with).
    expect(knotLog()).toMatch(new RegExp(`\\[${CAT.replace(/\./g, '\\.')}\\.\\] AXFR, incoming, remote 127\\.0\\.0\\.1@${server.port}, finished`))
  })

  it("a new bridge's reverse zone is on knotd within seconds, driven by NOTIFY (its timers are a day)", async () => {
    const t0 = performance.now()
    sim.addNetwork({ name: 'incusbr9', type: 'bridge', managed: true, config: { 'ipv4.address': '10.49.0.1/24', 'ipv6.address': 'none' } })
    await within('knotd serves 0.49.10.in-addr.arpa', () => served('0.49.10.in-addr.arpa'), 5000)
    const ms = performance.now() - t0
    console.log(`catalog: a new bridge's reverse zone served by knotd ${Math.round(ms)} ms after network-created`)
    expect(server.catalog?.members().find((m) => m.zone === '0.49.10.in-addr.arpa')).toEqual({ zone: '0.49.10.in-addr.arpa', id: memberId('0.49.10.in-addr.arpa'), group: 'reverse' })
  })

  it('the status page, /status.json and /metrics list the members with their ids and groups', async () => {
    const status = await statusOf(server)
    expect(status.catalog).toEqual({ zone: CAT, serving: true, members: server.catalog?.members() })
    expect(status.catalog?.members.find((m) => m.zone === 'example.org')).toEqual({ zone: 'example.org', id: memberId('example.org'), group: 'file' })
    const base = `http://127.0.0.1:${server.http?.address.port}`
    const page = await (await fetch(`${base}/`)).text()
    expect(page).toContain('<h2>Catalog</h2>')
    expect(page).toContain(`<td>example.org</td><td>${memberId('example.org')}</td><td>file</td>`)
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(new RegExp(`^incus_dns_catalog_members ${status.catalog?.members.length}$`, 'm'))
  })

  it('record changes in a member still reach knotd by IXFR after NOTIFY', async () => {
    sim.launch({ name: 'late', ipv4: '10.42.0.77' })
    await within(`knotd answers late.${S}`, async () => (await kdig('127.0.0.1', knotPort, `late.${S}`, 'A')).answer.length === 1, 5000)
    expect(knotLog()).toMatch(/\[incus\.example\.org\.\] IXFR, incoming, remote [^\n]*finished/)
  })

  it('a new zone file, after a reload, is on knotd within seconds; removed, it is purged', async () => {
    writeFileSync(join(zones, 'example.net.zone'), '$TTL 300\n@ SOA ns1.example.net. hostmaster.example.net. 7 7200 900 1209600 60\n@ NS ns1.example.net.\nns1 A 192.0.2.53\nwww A 192.0.2.80\n')
    const t0 = performance.now()
    await server.reloadZones()
    await within('knotd serves example.net', () => served('example.net'), 5000)
    console.log(`catalog: a new zone file served by knotd ${Math.round(performance.now() - t0)} ms after the reload`)
    expect((await kdig('127.0.0.1', knotPort, 'www.example.net', 'A')).answer).toEqual(['www.example.net. 300 IN A 192.0.2.80'])
    unlinkSync(join(zones, 'example.net.zone'))
    await server.reloadZones()
    await within('knotd purges example.net', async () => /\[example\.net\.\] zone purged/.test(knotLog()), 5000)
    expect((await kdig('127.0.0.1', knotPort, 'example.net', 'SOA')).rcode).toBe('REFUSED')
    // And a bridge that goes takes its reverse zone with it.
    sim.deleteNetwork('incusbr9')
    await within('knotd purges 0.49.10.in-addr.arpa', async () => /\[0\.49\.10\.in-addr\.arpa\.\] zone purged/.test(knotLog()), 5000)
    expect(server.store.zones()).not.toContain('0.49.10.in-addr.arpa')
  })

  it('a restart of incus-dns purges and adds nothing on knotd, which takes the new catalog', async () => {
    // Serials are seconds: the restarted catalog's must be past the last one's for knotd to take it.
    await new Promise((r) => setTimeout(r, 2000))
    const port = server.port
    const before = knotLog().length
    const catalogTransfers = (): number => (knotLog().slice(before).match(new RegExp(`\\[${CAT.replace(/\./g, '\\.')}\\.\\] (AXFR|IXFR), incoming, [^\\n]*finished`, 'g')) ?? []).length
    await server.stop()
    server = (await startWithIncus(zones, [...args(), '--listen', `127.0.0.1:${port}`])).server
    await within('knotd takes the restarted catalog', async () => catalogTransfers() > 0, 10_000)
    const after = knotLog().slice(before)
    expect(after).not.toMatch(/zone purged/)
    expect(after).not.toMatch(/zone added from catalog/)
    for (const m of server.catalog?.members() ?? []) expect(await served(m.zone), m.zone).toBe(true)
  })
})
