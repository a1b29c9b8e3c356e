/**
 * Forwarding (issue 4) against a real upstream (knotd on loopback, behind a counting relay) and a scripted
 * one: answers equal to the upstream's, the cache, TTL countdown, negative caching, TC → TCP, failover,
 * SERVFAIL when all fail, the client ACL, spoofed replies, coalescing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { havePeer } from '../helpers/binaries.ts'
import { dig } from '../helpers/dig.ts'
import { startKnotd } from '../helpers/knotd.ts'
import type { Knotd } from '../helpers/knotd.ts'
import { udpExchange } from '../helpers/net.ts'
import { decode, query } from '../helpers/packets.ts'
import { startServer } from '../helpers/server.ts'
import type { TestServer } from '../helpers/server.ts'
import { CountingProxy, FakeUpstream, respond } from '../helpers/upstreams.ts'
import { normalize } from '../conformance/normalize.ts'

const ZONES = new URL('../../zones/', import.meta.url).pathname
const UPSTREAM_ZONES = new URL('../fixtures/zones/upstream/', import.meta.url).pathname
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe.skipIf(!havePeer('knotd', 'knot') || !havePeer('dig', 'bind9-dnsutils'))('forwarding to real upstreams', () => {
  let knotA: Knotd
  let knotB: Knotd
  let proxyA: CountingProxy
  let proxyB: CountingProxy
  let server: TestServer
  const ask = (name: string, type = 'A', args: string[] = []) => dig('127.0.0.1', server.port, name, type, { args: ['+rec', ...args] })

  beforeAll(async () => {
    const zones = [{ domain: 'example.net', file: 'example.net.zone' }];
    [knotA, knotB] = await Promise.all([startKnotd(UPSTREAM_ZONES, zones), startKnotd(UPSTREAM_ZONES, zones)])
    proxyA = await CountingProxy.start(knotA.port)
    proxyB = await CountingProxy.start(knotB.port)
    server = await startServer(ZONES, ['--forwarders', `127.0.0.1:${proxyA.port},127.0.0.1:${proxyB.port}`, '--forward-timeout', '400ms'])
  }, 30_000)
  afterAll(async () => {
    await server?.stop()
    await proxyA?.stop(); await proxyB?.stop()
    await knotA?.stop(); await knotB?.stop()
  })

  it('answers like the upstream does, with RA set and AA clear', async () => {
    for (const [name, type] of [['www.example.net', 'A'], ['www.example.net', 'AAAA'], ['alias.example.net', 'A'], ['nope.example.net', 'A'], ['www.example.net', 'MX']]) {
      const [ours, theirs] = await Promise.all([ask(name as string, type), dig('127.0.0.1', knotA.port, name as string, type as string)])
      const strip = (a: ReturnType<typeof normalize>) => ({ ...a, flags: [] })
      expect(strip(normalize(ours)), `${name} ${type}\n${ours.raw}\n${theirs.raw}`).toEqual(strip(normalize(theirs)))
      expect(ours.flags).toContain('ra')
      expect(ours.flags).not.toContain('aa')
    }
  })

  it('still answers its own zones authoritatively', async () => {
    const got = await ask('www.example.org')
    expect(got.flags).toContain('aa')
    expect(got.answer).toContain('web.example.org. 3600 IN A 192.0.2.80')
  })

  it('answers a repeated question from the cache, with the TTL counting down', async () => {
    const before = proxyA.total
    const first = await ask('ns1.example.net')
    expect(proxyA.total).toBe(before + 1)
    expect(first.answer).toEqual(['ns1.example.net. 300 IN A 192.0.2.53'])
    await sleep(2100)
    const second = await ask('NS1.Example.NET')
    expect(proxyA.total).toBe(before + 1) // the cache answered
    const ttl = Number((second.answer[0] as string).split(' ')[1])
    expect(ttl).toBeLessThanOrEqual(298)
    expect(ttl).toBeGreaterThanOrEqual(290)
    expect(second.raw).toContain(';NS1.Example.NET.') // the client's letter case comes back
  })

  it('caches NXDOMAIN for min(SOA TTL, MINIMUM)', async () => {
    const before = proxyA.total
    const first = await ask('missing.example.net')
    expect(first.rcode).toBe('NXDOMAIN')
    expect(first.authority[0]).toMatch(/^example\.net\. 60 IN SOA /)
    const second = await ask('missing.example.net')
    expect(second.rcode).toBe('NXDOMAIN')
    expect(proxyA.total).toBe(before + 1)
  })

  it('retries over TCP when the upstream truncates, and truncates for a small client', async () => {
    const tcpBefore = proxyA.tcpQueries
    const udp = await ask('big.example.net', 'TXT', ['+noedns', '+ignore'])
    expect(udp.flags).toContain('tc')
    expect(proxyA.tcpQueries).toBe(tcpBefore + 1)
    const full = await ask('big.example.net', 'TXT', ['+noedns']) // dig retries over TCP: served from the cache
    expect(full.answer).toHaveLength(8)
  })

  it('asks over TCP upstream when the client came over TCP', async () => {
    const [udpBefore, tcpBefore] = [proxyA.udpQueries, proxyA.tcpQueries]
    const got = await dig('127.0.0.1', server.port, 'ns1.example.net', 'AAAA', { tcp: true, args: ['+rec'] })
    expect(got.rcode).toBe('NOERROR')
    expect(got.authority[0]).toMatch(/^example\.net\. 60 IN SOA /)
    expect([proxyA.udpQueries, proxyA.tcpQueries]).toEqual([udpBefore, tcpBefore + 1])
  })

  it('fails over to the next upstream when one dies, then SERVFAIL when all are gone', async () => {
    await knotA.stop()
    const t0 = Date.now()
    const got = await ask('alias.example.net', 'AAAA')
    expect(got.answer).toEqual(['alias.example.net. 300 IN CNAME www.example.net.', 'www.example.net. 300 IN AAAA 2001:db8::80'])
    expect(Date.now() - t0).toBeLessThan(1500)
    expect(proxyB.total).toBeGreaterThan(0)
    await knotB.stop()
    const t1 = Date.now()
    const failed = await ask('uncached.example.net')
    expect(failed.rcode).toBe('SERVFAIL')
    expect(Date.now() - t1).toBeLessThan(2 * 400 + 700)
    expect(server.forwarder?.stats.servfail).toBeGreaterThan(0)
  })
})

describe('forwarding: who may use it, and what a reply must match', () => {
  let fake: FakeUpstream
  let server: TestServer
  let open: TestServer
  beforeAll(async () => {
    fake = await FakeUpstream.start()
    server = await startServer(ZONES, ['--forwarders', `127.0.0.1:${fake.port}`, '--forward-timeout', '300ms', '--forward-allow', '127.0.0.1/32'])
    open = await startServer(ZONES, ['--forwarders', `127.0.0.1:${fake.port}`, '--forward-timeout', '300ms', '--cache-size', '0'])
  })
  afterAll(async () => { await server?.stop(); await open?.stop(); await fake?.stop() })

  it.skipIf(!havePeer('dig', 'bind9-dnsutils'))('refuses a client outside the allow list, without RA', async () => {
    fake.script = (q, reply) => reply(respond(q, { address: '203.0.113.7' }))
    const before = fake.queries
    const outside = await dig('127.0.0.1', server.port, 'host.example.com', 'A', { args: ['+rec', '-b', '127.0.0.2'] })
    expect(outside.rcode).toBe('REFUSED')
    expect(outside.flags).not.toContain('ra')
    expect(fake.queries).toBe(before)
    const inside = await dig('127.0.0.1', server.port, 'host.example.com', 'A', { args: ['+rec', '-b', '127.0.0.1'] })
    expect(inside.answer).toEqual(['host.example.com. 300 IN A 203.0.113.7'])
  })

  it('drops replies with the wrong ID or question and takes the right one', async () => {
    fake.script = (q, reply) => {
      reply(respond(q, { address: '198.51.100.66', id: (q.readUInt16BE(0) + 1) & 0xffff }))
      reply(respond(q, { address: '198.51.100.66', question: Buffer.from('05656e656d79036e657400000100 01'.replace(/ /g, ''), 'hex') }))
      reply(respond(q, { address: '198.51.100.9' }), 30)
    }
    const spoofedBefore = open.forwarder?.stats.spoofed ?? 0
    const got = decode((await udpExchange(open.port, query('target.example.com', 'A', { id: 77 }))) as Buffer)
    expect(got.answer).toEqual(['target.example.com. 300 IN A 198.51.100.9'])
    expect(got.id).toBe(77)
    expect((open.forwarder?.stats.spoofed ?? 0) - spoofedBefore).toBe(2)
  })

  it('uses a fresh random ID per upstream query', async () => {
    const ids: number[] = []
    fake.script = (q, reply) => { ids.push(q.readUInt16BE(0)); reply(respond(q, { address: '198.51.100.1' })) }
    for (let i = 0; i < 8; i++) await udpExchange(open.port, query(`r${i}.example.com`, 'A', { id: 1 }))
    expect(new Set(ids).size).toBeGreaterThan(4)
  })

  it('sends identical questions in flight once', async () => {
    fake.script = (q, reply) => reply(respond(q, { address: '198.51.100.2' }), 200)
    const before = fake.queries
    const replies = await Promise.all(Array.from({ length: 5 }, (_, i) => udpExchange(open.port, query('same.example.com', 'A', { id: 10 + i }), 2000)))
    expect(fake.queries - before).toBe(1)
    expect(replies.map((r) => decode(r as Buffer).id)).toEqual([10, 11, 12, 13, 14])
    expect(replies.every((r) => decode(r as Buffer).answer[0] === 'same.example.com. 300 IN A 198.51.100.2')).toBe(true)
  })

  it('does not cache SERVFAIL', async () => {
    fake.script = (q, reply) => reply(respond(q, { rcode: 2 }))
    const before = fake.queries
    for (let i = 0; i < 2; i++) expect(decode((await udpExchange(server.port, query('broken.example.com', 'A'))) as Buffer).rcode).toBe(2)
    expect(fake.queries - before).toBe(2)
  })

  it('answers its own zones at once while the upstream hangs', async () => {
    fake.script = () => {} // never answers
    const pending = udpExchange(open.port, query('slow.example.com', 'A', { id: 5 }), 1500)
    const t0 = performance.now()
    const own = decode((await udpExchange(open.port, query('web.example.org', 'A'))) as Buffer)
    expect(performance.now() - t0).toBeLessThan(100)
    expect(own.answer).toEqual(['web.example.org. 3600 IN A 192.0.2.80'])
    expect(decode((await pending) as Buffer).rcode).toBe(2) // SERVFAIL once the timeout passes, never silence
  })
})
