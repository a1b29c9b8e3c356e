/**
 * `--workers N`: UDP answered by several threads on one port (SO_REUSEPORT). Every thread answers, a live
 * change reaches every replica, forwarded queries from a worker are answered through the main thread, and
 * /metrics counts them all.
 */
import dgram from 'node:dgram'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SimIncus } from '../../src/sim/server.ts'
import { simSocket, startWithIncus } from '../helpers/incus.ts'
import { waitFor } from '../helpers/net.ts'
import { decode, optRecord, query } from '../helpers/packets.ts'
import type { TestServer } from '../helpers/server.ts'
import { FakeUpstream, respond } from '../helpers/upstreams.ts'

const ZONES = new URL('../../zones/', import.meta.url).pathname
const S = 'incus.example.org'

/** Asks from `clients` different source ports (the kernel spreads those over the threads); the replies. */
async function fromManyPorts(port: number, name: string, clients: number, from = '127.0.0.1'): Promise<ReturnType<typeof decode>[]> {
  return (await rawFromManyPorts(port, () => query(name, 'A'), clients, from)).map(decode)
}

/** The same with the query `make` builds (its ID set per client), the raw replies. */
async function rawFromManyPorts(port: number, make: () => Buffer, clients: number, from = '127.0.0.1'): Promise<Buffer[]> {
  return Promise.all(Array.from({ length: clients }, (_, i) => new Promise<Buffer>((resolve, reject) => {
    const sock = dgram.createSocket('udp4')
    const timer = setTimeout(() => { sock.close(); reject(new Error(`no answer for client ${i}`)) }, 3000)
    sock.once('message', (m) => { clearTimeout(timer); sock.close(); resolve(m) })
    const q = make()
    q.writeUInt16BE(i, 0)
    sock.bind({ address: from, port: 0 }, () => sock.send(q, port, '127.0.0.1'))
  })))
}

describe('UDP on several threads (--workers 3)', () => {
  let sim: SimIncus
  let server: TestServer
  let fake: FakeUpstream
  beforeAll(async () => {
    const s = await simSocket()
    sim = s.sim
    sim.launch({ name: 'web', ipv4: '10.42.0.15' })
    fake = await FakeUpstream.start()
    fake.script = (q, reply) => reply(respond(q, { address: '203.0.113.9' }))
    server = (await startWithIncus(ZONES, ['--incus-socket', s.socket, '--suffix', S, '--workers', '3', '--forwarders', `127.0.0.1:${fake.port}`, '--identity', 'w1.lab.example'])).server
    await waitFor(() => server.incus?.ready === true, 5000)
  }, 20_000)
  afterAll(async () => { await server?.stop(); await sim?.close(); await fake?.stop() })

  it('answers from every thread, and the worker threads take part', async () => {
    const replies = await fromManyPorts(server.port, `web.${S}`, 60)
    expect(replies.every((r) => r.answer[0] === `web.${S}. 30 IN A 10.42.0.15`)).toBe(true)
    expect(server.stats.queriesUdp).toBeLessThan(60) // the main thread answered only its share
  })

  it('a change from Incus reaches every replica', async () => {
    sim.launch({ name: 'spread', ipv4: '10.42.0.66' })
    await waitFor(async () => (await fromManyPorts(server.port, `spread.${S}`, 30)).every((r) => r.answer.length === 1), 5000)
  })

  it('forwards through the main thread for queries a worker received', async () => {
    const replies = await fromManyPorts(server.port, 'elsewhere.example.com', 30)
    expect(replies.map((r) => r.answer[0])).toEqual(Array(30).fill('elsewhere.example.com. 300 IN A 203.0.113.9'))
    expect(replies.map((r) => r.id)).toEqual(Array.from({ length: 30 }, (_, i) => i))
  })

  it('every thread answers NSID (RFC 5001) with the identity, when asked', async () => {
    const nsidQuery = (): Buffer => {
      const q = query(`web.${S}`, 'A')
      q.writeUInt16BE(1, 10) // ARCOUNT: the OPT below
      return Buffer.concat([q, optRecord(1232, 0, false, Buffer.from([0, 3, 0, 0]))]) // option 3, empty
    }
    const want = Buffer.concat([Buffer.from([0, 3, 0, 'w1.lab.example'.length]), Buffer.from('w1.lab.example')])
    const replies = await rawFromManyPorts(server.port, nsidQuery, 30)
    expect(replies.filter((r) => r.subarray(-want.length).equals(want))).toHaveLength(30)
    expect(server.stats.queriesUdp).toBeLessThan(60 + 30 + 30 + 30) // the workers answered some of them
  })

  it('/metrics sums the queries of every thread', async () => {
    await new Promise((r) => setTimeout(r, 1200)) // workers report their counters every second
    const text = await (await fetch(`http://127.0.0.1:${server.http?.address.port}/metrics`)).text()
    const total = Number(/incus_dns_queries_total\{transport="udp",qtype="A"\} (\d+)/.exec(text)?.[1])
    expect(total).toBeGreaterThanOrEqual(60 + 30 + 30)
    expect(total).toBeGreaterThan(server.stats.queriesUdp)
  })
})

describe('split horizon on several threads (--workers 3 --views)', () => {
  let sim: SimIncus
  let server: TestServer
  beforeAll(async () => {
    const s = await simSocket()
    sim = s.sim
    sim.launch({ name: 'multi', ipv4: '10.42.0.50', nics: [{ device: 'eth1', network: 'incusbr1', ipv4: '10.43.0.50' }] })
    server = (await startWithIncus(ZONES, ['--incus-socket', s.socket, '--suffix', S, '--workers', '3', '--views', 'br1=127.0.0.3>incusbr1', '--views-ecs', '127.0.0.9'])).server
    await waitFor(() => server.incus?.ready === true, 5000)
  }, 20_000)
  afterAll(async () => { await server?.stop(); await sim?.close() })

  it("every thread answers a view's clients from that view's replica, and the default view's clients from the default", async () => {
    // The views reach the workers after the first sync: wait until every thread has them.
    await waitFor(async () => (await fromManyPorts(server.port, `multi.${S}`, 40, '127.0.0.3')).every((r) => r.answer[0] === `multi.${S}. 30 IN A 10.43.0.50`), 5000)
    const other = await fromManyPorts(server.port, `multi.${S}`, 40)
    expect(other.every((r) => r.answer[0] === `multi.${S}. 30 IN A 10.42.0.50`)).toBe(true)
    expect(server.viewTable.default.queries + (server.viewTable.all[1]?.queries ?? 0)).toBeLessThan(80) // the workers answered some
  })

  it("every thread takes a trusted resolver's client subnet (ECS) for the view", async () => {
    const ecsQuery = (): Buffer => {
      const q = query(`multi.${S}`, 'A')
      q.writeUInt16BE(1, 10)
      return Buffer.concat([q, optRecord(1232, 0, false, Buffer.from([0, 8, 0, 8, 0, 1, 32, 0, 127, 0, 0, 3]))]) // 127.0.0.3/32
    }
    const replies = (await rawFromManyPorts(server.port, ecsQuery, 40, '127.0.0.9')).map(decode)
    expect(replies.map((r) => r.answer[0])).toEqual(Array(40).fill(`multi.${S}. 30 IN A 10.43.0.50`))
  })

  it('a live change reaches the view replicas of every thread, and /metrics sums the views over the threads', async () => {
    sim.launch({ name: 'late', ipv4: '10.42.0.51', nics: [{ device: 'eth1', network: 'incusbr1', ipv4: '10.43.0.51' }] })
    await waitFor(async () => (await fromManyPorts(server.port, `late.${S}`, 30, '127.0.0.3')).every((r) => r.answer[0] === `late.${S}. 30 IN A 10.43.0.51`), 5000)
    await new Promise((r) => setTimeout(r, 1200)) // the workers report their counters every second
    const before = Number(/^incus_dns_view_queries_total\{view="br1"\} (\d+)/m.exec(await (await fetch(`http://127.0.0.1:${server.http?.address.port}/metrics`)).text())?.[1])
    await fromManyPorts(server.port, `late.${S}`, 50, '127.0.0.3')
    await new Promise((r) => setTimeout(r, 1200))
    const after = Number(/^incus_dns_view_queries_total\{view="br1"\} (\d+)/m.exec(await (await fetch(`http://127.0.0.1:${server.http?.address.port}/metrics`)).text())?.[1])
    expect(after - before).toBe(50)
  })
})
