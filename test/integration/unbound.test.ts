/**
 * A real resolver in front: unbound on loopback with a stub-zone for the suffix pointing at incus-dns. dig
 * through unbound resolves an instance of the simulated Incus, and a deleted instance stops resolving once
 * the TTLs allow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SimIncus } from '../../src/sim/server.ts'
import { havePeer } from '../helpers/binaries.ts'
import { dig } from '../helpers/dig.ts'
import { simSocket, startWithIncus } from '../helpers/incus.ts'
import { waitFor } from '../helpers/net.ts'
import type { TestServer } from '../helpers/server.ts'
import { startUnbound } from '../helpers/unbound.ts'
import type { Unbound } from '../helpers/unbound.ts'

const ZONES = new URL('../../zones/', import.meta.url).pathname
const S = 'incus.example.org'

describe.skipIf(!havePeer('unbound', 'unbound') || !havePeer('dig', 'bind9-dnsutils'))('unbound as the resolver in front', () => {
  let sim: SimIncus
  let server: TestServer
  let unbound: Unbound

  beforeAll(async () => {
    const s = await simSocket()
    sim = s.sim
    sim.launch({ name: 'web', ipv4: '10.42.0.15' })
    sim.launch({ name: 'temp', ipv4: '10.42.0.40' })
    sim.launch({ name: 'web6', ipv4: '10.42.0.16', ipv6: 'fd42:4c81:5770:1eaf::16' })
    server = (await startWithIncus(ZONES, ['--incus-socket', s.socket, '--suffix', S, '--ttl', '2s'])).server
    await waitFor(() => server.incus?.ready === true, 5000)
    unbound = await startUnbound({ suffix: S, stubPort: server.port, reverse: ['10.in-addr.arpa', 'd.f.ip6.arpa'], ready: async (at) => (await dig('127.0.0.1', at, `web.${S}`, 'A', { args: ['+rec'] })).rcode === 'NOERROR' })
  }, 30_000)
  afterAll(async () => {
    await unbound?.stop()
    await server?.stop()
    await sim?.close()
  })

  it('resolves an instance through unbound', async () => {
    const got = await dig('127.0.0.1', unbound.port, `web.${S}`, 'A', { args: ['+rec'] })
    expect(got.rcode).toBe('NOERROR')
    expect(got.flags).toContain('ra')
    expect(got.answer).toHaveLength(1)
    expect(got.answer[0]).toMatch(new RegExp(`^web\\.${S.replace(/\./g, '\\.')}\\. [0-2] IN A 10\\.42\\.0\\.15$`))
  })

  it("the recipe's PTR: dig -x an instance address through unbound gets its name, IPv4 and IPv6 (issue 26, 13)", async () => {
    const v4 = await dig('127.0.0.1', unbound.port, '15.0.42.10.in-addr.arpa', 'PTR', { args: ['+rec'] })
    expect(v4.rcode).toBe('NOERROR')
    expect(v4.answer).toEqual([expect.stringMatching(new RegExp(`^15\\.0\\.42\\.10\\.in-addr\\.arpa\\. \\d+ IN PTR web\\.${S.replace(/\./g, '\\.')}\\.$`))])
    const six = '6.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.f.a.e.1.0.7.7.5.1.8.c.4.2.4.d.f.ip6.arpa'
    const v6 = await dig('127.0.0.1', unbound.port, six, 'PTR', { args: ['+rec'] })
    expect(v6.answer).toEqual([expect.stringMatching(new RegExp(`IN PTR web6\\.${S.replace(/\./g, '\\.')}\\.$`))])
  })

  it('stops resolving a deleted instance once its TTL has run out', async () => {
    expect((await dig('127.0.0.1', unbound.port, `temp.${S}`, 'A', { args: ['+rec'] })).answer).toHaveLength(1)
    sim.delete('default', 'temp')
    const t0 = Date.now()
    await waitFor(async () => (await dig('127.0.0.1', unbound.port, `temp.${S}`, 'A', { args: ['+rec'] })).rcode === 'NXDOMAIN', 8000)
    expect(Date.now() - t0).toBeLessThan(5000) // TTL 2 s, plus a poll or two
  })
})
