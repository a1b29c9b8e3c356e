/**
 * Split horizon behind a resolver (INCUS_DNS_VIEWS_ECS): a trusted resolver's EDNS Client Subnet option picks
 * the view as the client's own address would, and the reply echoes it with its scope (RFC 7871). With dig's
 * +subnet as the resolver, and with unbound (subnetcache) in front, whose clients on different loopback
 * addresses each get their view's address although unbound asks from one address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SimIncus } from '../../src/sim/server.ts'
import { havePeer } from '../helpers/binaries.ts'
import { dig } from '../helpers/dig.ts'
import type { DigResult } from '../helpers/dig.ts'
import { simSocket, startWithIncus } from '../helpers/incus.ts'
import { udpExchange, waitFor } from '../helpers/net.ts'
import { decode, query } from '../helpers/packets.ts'
import type { TestServer } from '../helpers/server.ts'
import { startUnbound } from '../helpers/unbound.ts'
import type { Unbound } from '../helpers/unbound.ts'

const ZONES = new URL('../../zones/', import.meta.url).pathname
const S = 'incus.example.org'
// incusbr0 is 10.42.0.0/24 + fd42:4c81:5770:1eaf::/64, incusbr1 10.43.0.0/24 + fd42:4c81:5770:2eaf::/64 (src/sim/model.ts).
const VIEWS = 'br0=127.0.0.2,incusbr0>incusbr0; br1=127.0.0.3,incusbr1>incusbr1'
/** The resolvers trusted with ECS: dig posing as one from 127.0.0.9, and unbound, which asks from 127.0.0.1. */
const TRUSTED = '127.0.0.9,127.0.0.1'
const EXPECT = { br0: `multi.${S}. 30 IN A 10.42.0.50`, br1: `multi.${S}. 30 IN A 10.43.0.50` }

/** What dig printed for the reply's ECS option (`10.43.0.0/24/24`: address/source/scope), or null. */
const subnetOf = (r: DigResult): string | null => /; CLIENT-SUBNET: (\S+)/.exec(r.raw)?.[1] ?? null

describe.skipIf(!havePeer('dig', 'bind9-dnsutils'))('EDNS Client Subnet from trusted resolvers picks the view', () => {
  let sim: SimIncus
  let server: TestServer
  const ask = (source: string, subnet: string | null, name = `multi.${S}`, type = 'A', tcp = false): Promise<DigResult> =>
    dig('127.0.0.1', server.port, name, type, { tcp, args: ['-b', source, ...(subnet === null ? [] : [`+subnet=${subnet}`])] })

  beforeAll(async () => {
    const s = await simSocket()
    sim = s.sim
    sim.launch({
      name: 'multi', ipv4: '10.42.0.50', ipv6: 'fd42:4c81:5770:1eaf::50',
      nics: [{ device: 'eth1', network: 'incusbr1', ipv4: '10.43.0.50', ipv6: 'fd42:4c81:5770:2eaf::50' }],
    })
    server = (await startWithIncus(ZONES, ['--incus-socket', s.socket, '--suffix', S, '--views', VIEWS, '--views-ecs', TRUSTED])).server
    await waitFor(() => server.incus?.ready === true, 5000)
  })
  afterAll(async () => { await server?.stop(); await sim?.close() })

  it("a trusted resolver's client subnet picks that subnet's view, and the reply echoes it with its scope", async () => {
    const br1 = await ask('127.0.0.9', '10.43.0.0/24')
    expect(br1.answer).toEqual([EXPECT.br1])
    expect(subnetOf(br1)).toBe('10.43.0.0/24/24')
    const host = await ask('127.0.0.9', '10.42.0.7/32')
    expect(host.answer).toEqual([EXPECT.br0])
    expect(subnetOf(host)).toBe('10.42.0.7/32/32')
    // The resolver's own address is in no view: without the option it gets the default view (eth0's).
    expect((await ask('127.0.0.9', null)).answer).toEqual([EXPECT.br0])
    expect((await ask('127.0.0.9', '127.0.0.3/32')).answer).toEqual([EXPECT.br1])
  })

  it('IPv6 subnets, and TCP, the same way', async () => {
    const v6 = await ask('127.0.0.9', 'fd42:4c81:5770:2eaf::/64', `multi.${S}`, 'AAAA')
    expect(v6.answer).toEqual([`multi.${S}. 30 IN AAAA fd42:4c81:5770:2eaf::50`])
    expect(subnetOf(v6)).toBe('fd42:4c81:5770:2eaf::/64/64')
    expect((await ask('127.0.0.9', '10.43.0.0/24', `multi.${S}`, 'A', true)).answer).toEqual([EXPECT.br1])
  })

  it('a subnet wider than the views gets the default view, scoped to the longest view inside it', async () => {
    const wide = await ask('127.0.0.9', '10.0.0.0/8')
    expect(wide.answer).toEqual([EXPECT.br0]) // the default view: eth0's
    expect(subnetOf(wide)).toBe('10.0.0.0/8/24') // not valid for the /24s inside, which are views
    // SOURCE 0 asks for no tailoring (RFC 7871 7.1.2): the resolver's own view, SCOPE 0.
    const none = await ask('127.0.0.9', '0.0.0.0/0')
    expect(none.answer).toEqual([EXPECT.br0])
    expect(subnetOf(none)).toBe('0.0.0.0/0/0')
  })

  it('an untrusted client\'s option is ignored: its own address picks, and nothing is echoed', async () => {
    const r = await ask('127.0.0.8', '10.43.0.0/24')
    expect(r.answer).toEqual([EXPECT.br0])
    expect(subnetOf(r)).toBeNull()
    expect((await ask('127.0.0.3', '10.42.0.0/24')).answer).toEqual([EXPECT.br1]) // a view client's own view
  })

  it('a malformed option from a trusted resolver is FORMERR (RFC 7871 7.1.1)', async () => {
    const withEcs = (option: number[]): Buffer => {
      const q = query(`multi.${S}`, 'A')
      q.writeUInt16BE(1, 10)
      const opt = Buffer.from([0, 0, 41, 4, 208, 0, 0, 0, 0, 0, option.length + 4, 0, 8, 0, option.length, ...option])
      return Buffer.concat([q, opt])
    }
    const rcodeOf = async (option: number[]): Promise<number> => {
      const reply = await udpExchange(server.port, withEcs(option), 2000, '127.0.0.1', '127.0.0.9')
      if (reply === null) throw new Error('no reply')
      return decode(reply).rcode
    }
    expect(await rcodeOf([0, 1, 24, 0, 10, 43, 0])).toBe(0) // well formed: 10.43.0.0/24
    expect(await rcodeOf([0, 3, 24, 0, 10, 43, 0])).toBe(1) // no such family
    expect(await rcodeOf([0, 1, 33, 0, 10, 43, 0, 0, 0])).toBe(1) // longer than an IPv4 address
    expect(await rcodeOf([0, 1, 24, 0, 10, 43, 0, 0])).toBe(1) // more address bytes than the source needs
    expect(await rcodeOf([0, 1, 20, 0, 10, 43, 1])).toBe(1) // bits set past the source prefix
  })

  it('the status page and /status.json name the resolvers trusted with ECS', async () => {
    const base = `http://127.0.0.1:${server.http?.address.port}`
    expect(((await (await fetch(`${base}/status.json`)).json()) as { subnetSources: string[] }).subnetSources).toEqual(['127.0.0.9/32', '127.0.0.1/32'])
    expect(await (await fetch(`${base}/`)).text()).toContain('<p>The EDNS Client Subnet of 127.0.0.9/32, 127.0.0.1/32 picks the view of the client it names.</p>')
  })

  it('the view metrics count the subnet\'s view, not the resolver\'s', async () => {
    const count = async (view: string): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${server.http?.address.port}/metrics`)).text()
      return Number(new RegExp(`^incus_dns_view_queries_total\\{view="${view}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 'NaN')
    }
    const [br1, def] = [await count('br1'), await count('default')]
    for (let i = 0; i < 5; i++) await ask('127.0.0.9', '10.43.0.0/24')
    expect(await count('br1')).toBe(br1 + 5)
    expect(await count('default')).toBe(def)
  })
})

describe.skipIf(!havePeer('unbound', 'unbound') || !havePeer('dig', 'bind9-dnsutils'))('unbound with ECS (subnetcache) in front of views', () => {
  let sim: SimIncus
  let server: TestServer
  let unbound: Unbound
  const viaUnbound = (client: string): Promise<DigResult> => dig('127.0.0.1', unbound.port, `multi.${S}`, 'A', { args: ['+rec', '-b', client] })

  beforeAll(async () => {
    const s = await simSocket()
    sim = s.sim
    sim.launch({ name: 'multi', ipv4: '10.42.0.50', nics: [{ device: 'eth1', network: 'incusbr1', ipv4: '10.43.0.50' }] })
    server = (await startWithIncus(ZONES, ['--incus-socket', s.socket, '--suffix', S, '--views', VIEWS, '--views-ecs', TRUSTED])).server
    await waitFor(() => server.incus?.ready === true, 5000)
    // The subnetcache module sends each client's /32 to incus-dns and caches the answers per the scope it gives.
    unbound = await startUnbound({
      suffix: S, stubPort: server.port, modules: 'subnetcache iterator',
      server: ['outgoing-interface: 127.0.0.1', 'send-client-subnet: 127.0.0.1', 'max-client-subnet-ipv4: 32'],
      ready: async (at) => (await dig('127.0.0.1', at, `multi.${S}`, 'A', { args: ['+rec', '-b', '127.0.0.6'] })).rcode === 'NOERROR',
    })
  }, 30_000)
  afterAll(async () => {
    await unbound?.stop()
    await server?.stop()
    await sim?.close()
  })

  it("each of unbound's clients gets its own view's address, asked and then from unbound's cache", async () => {
    for (let round = 0; round < 2; round++) { // the second round comes from unbound's per-subnet cache
      expect((await viaUnbound('127.0.0.3')).answer.map((l) => l.replace(/ \d+ IN /, ' IN '))).toEqual([`multi.${S}. IN A 10.43.0.50`])
      expect((await viaUnbound('127.0.0.2')).answer.map((l) => l.replace(/ \d+ IN /, ' IN '))).toEqual([`multi.${S}. IN A 10.42.0.50`])
      expect((await viaUnbound('127.0.0.6')).answer.map((l) => l.replace(/ \d+ IN /, ' IN '))).toEqual([`multi.${S}. IN A 10.42.0.50`])
    }
  })
})
