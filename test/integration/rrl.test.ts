/**
 * Response rate limiting on the wire, from several 127.0.0.x sources (each its own prefix here: /32), in bursts
 * of at most 100 queries: the bands knotd's and BIND's RRL tests check (answered, slipped, dropped at a given
 * rate), NXDOMAIN counted by zone, bytes out below bytes in during a flood, a second client answered
 * throughout, TCP and exempt clients never limited, a client proven by a DNS cookie not limited, log-only
 * mode, and the counters.
 */
import dgram from 'node:dgram'
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { havePeer } from '../helpers/binaries.ts'
import { dig } from '../helpers/dig.ts'
import { decode, query } from '../helpers/packets.ts'
import { startServer } from '../helpers/server.ts'
import type { TestServer } from '../helpers/server.ts'

const ZONES = new URL('../fixtures/zones/conformance/', import.meta.url).pathname
const RATE = 10

interface Burst { sent: number; answered: number; slipped: number; dropped: number; bytesIn: number; bytesOut: number }

/** Sends `msgs` from `from` as fast as the socket takes them, then counts the replies that came within 500 ms. */
async function burst(port: number, from: string, msgs: readonly Buffer[]): Promise<Burst> {
  const sock = dgram.createSocket('udp4')
  await new Promise<void>((r) => sock.bind(0, from, () => r()))
  const out: Burst = { sent: msgs.length, answered: 0, slipped: 0, dropped: 0, bytesIn: 0, bytesOut: 0 }
  sock.on('message', (m) => {
    out.bytesOut += m.length
    if (((m[2] as number) & 0x02) !== 0 && m.readUInt16BE(6) === 0) out.slipped++
    else out.answered++
  })
  for (const [i, m] of msgs.entries()) {
    m.writeUInt16BE(i, 0)
    out.bytesIn += m.length
    sock.send(m, port, '127.0.0.1')
  }
  await new Promise((r) => setTimeout(r, 500))
  sock.close()
  out.dropped = out.sent - out.answered - out.slipped
  return out
}

const metric = async (s: TestServer, action: string): Promise<number> =>
  Number(new RegExp(`^incus_dns_rrl_total\\{action="${action}"\\} (\\S+)$`, 'm').exec(await (await fetch(`http://127.0.0.1:${s.http?.address.port}/metrics`)).text())?.[1])

describe.skipIf(!havePeer('dig', 'bind9-dnsutils'))('response rate limiting (UDP)', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(ZONES, ['--rrl-rate', String(RATE), '--rrl-slip', '2', '--rrl-ipv4-prefix', '32', '--rrl-exempt', '127.0.0.3/32'])
  })
  afterAll(async () => { await server?.stop() })

  it('a flood of one question: about RATE answered, half the rest slipped as TC, half dropped; bytes out below bytes in', async () => {
    const r = await burst(server.port, '127.0.0.2', Array.from({ length: 100 }, () => query('web.example.org', 'A', { edns: 1232 })))
    // The bucket starts full (RATE) and refills at RATE a second during the burst and its wait (under a second).
    expect(r.answered).toBeGreaterThanOrEqual(RATE)
    expect(r.answered).toBeLessThanOrEqual(RATE * 2)
    expect(r.slipped).toBeGreaterThanOrEqual(Math.floor((100 - RATE * 2) / 2) - 1)
    expect(r.slipped).toBeLessThanOrEqual(Math.ceil((100 - RATE) / 2) + 1)
    expect(r.dropped).toBeGreaterThanOrEqual(Math.floor((100 - RATE * 2) / 2) - 1)
    expect(r.bytesOut).toBeLessThan(r.bytesIn)
    console.log(`RRL at ${RATE}/s, 100 queries from one source: ${r.answered} answered, ${r.slipped} slipped, ${r.dropped} dropped; ${r.bytesOut} bytes out for ${r.bytesIn} in`)
  })

  it('NXDOMAIN is counted by zone: a flood of different missing names is limited as one kind', async () => {
    const r = await burst(server.port, '127.0.0.4', Array.from({ length: 100 }, (_, i) => query(`nothere-${i}.example.org`, 'A')))
    expect(r.answered).toBeLessThanOrEqual(RATE * 2)
    expect(r.slipped + r.dropped).toBeGreaterThanOrEqual(100 - RATE * 2)
  })

  it('a second client is answered throughout a flood from another', async () => {
    const flood = burst(server.port, '127.0.0.5', Array.from({ length: 100 }, () => query('web.example.org', 'A')))
    const other = await Promise.all(Array.from({ length: 5 }, () => dig('127.0.0.1', server.port, 'web.example.org', 'A', { args: ['-b', '127.0.0.6'] })))
    expect(other.every((r) => r.answer.length === 1 && !r.flags.includes('tc'))).toBe(true)
    expect((await flood).answered).toBeLessThanOrEqual(RATE * 2)
  })

  it('exempt ranges are never limited', async () => {
    const r = await burst(server.port, '127.0.0.3', Array.from({ length: 100 }, () => query('web.example.org', 'A')))
    expect(r.answered).toBe(100)
  })

  it('TCP is never limited: 60 pipelined queries on one connection, 60 answers', async () => {
    const sock = net.connect({ port: server.port, host: '127.0.0.1', localAddress: '127.0.0.7' })
    await new Promise<void>((r) => sock.once('connect', () => r()))
    let got = Buffer.alloc(0)
    sock.on('data', (d: Buffer) => { got = Buffer.concat([got, d]) })
    for (let i = 0; i < 60; i++) {
      const q = query('web.example.org', 'A', { id: i })
      const len = Buffer.alloc(2)
      len.writeUInt16BE(q.length)
      sock.write(Buffer.concat([len, q]))
    }
    const answers = (): number => { let n = 0; for (let o = 0; o + 2 <= got.length; o += 2 + got.readUInt16BE(o)) if (o + 2 + got.readUInt16BE(o) <= got.length && got.readUInt16BE(o + 2 + 6) === 1) n++; return n }
    for (let t = 0; t < 100 && answers() < 60; t++) await new Promise((r) => setTimeout(r, 20))
    sock.destroy()
    expect(answers()).toBe(60)
  })

  it('a client that proved its address with a DNS cookie is not limited', async () => {
    const reply = await askOnce(server.port, '127.0.0.8', withCookie(query('web.example.org', 'A', { edns: 1232 }), Buffer.from('0102030405060708', 'hex')))
    expect(decode(reply as Buffer).rcode).toBe(0)
    const cookie = cookieIn(reply as Buffer)
    const r = await burst(server.port, '127.0.0.8', Array.from({ length: 60 }, () => withCookie(query('web.example.org', 'A', { edns: 1232 }), cookie)))
    expect(r.answered).toBe(60)
  })

  it('counts what it held back', async () => {
    expect(await metric(server, 'dropped')).toBeGreaterThan(0)
    expect(await metric(server, 'slipped')).toBeGreaterThan(0)
    expect(await metric(server, 'logged')).toBe(0)
  })

  it('log-only mode answers everything and counts what it would have held back', async () => {
    const s = await startServer(ZONES, ['--rrl-rate', String(RATE), '--rrl-log-only', 'true', '--rrl-ipv4-prefix', '32'])
    try {
      const r = await burst(s.port, '127.0.0.9', Array.from({ length: 60 }, () => query('web.example.org', 'A')))
      expect(r.answered).toBe(60)
      expect(await metric(s, 'logged')).toBeGreaterThanOrEqual(60 - RATE * 2)
      expect(await metric(s, 'dropped')).toBe(0)
    } finally { await s.stop() }
  })
})

/** One query from `from`, and its reply (null after a second). */
async function askOnce(port: number, from: string, msg: Buffer): Promise<Buffer | null> {
  const sock = dgram.createSocket('udp4')
  await new Promise<void>((r) => sock.bind(0, from, () => r()))
  const reply = await new Promise<Buffer | null>((resolve) => {
    const t = setTimeout(() => resolve(null), 1000)
    sock.once('message', (m) => { clearTimeout(t); resolve(m) })
    sock.send(msg, port, '127.0.0.1')
  })
  sock.close()
  return reply
}

/** The query with a COOKIE option appended to its OPT (the query's last record). */
function withCookie(q: Buffer, cookie: Buffer): Buffer {
  const option = Buffer.alloc(4 + cookie.length)
  option.writeUInt16BE(10, 0)
  option.writeUInt16BE(cookie.length, 2)
  cookie.copy(option, 4)
  const out = Buffer.concat([q, option])
  out.writeUInt16BE(out.readUInt16BE(q.length - 2) + option.length, q.length - 2)
  return out
}

/** The COOKIE option's content in a reply (its OPT is the last record). */
function cookieIn(reply: Buffer): Buffer {
  const at = reply.lastIndexOf(Buffer.from([0, 10, 0, 24]))
  return reply.subarray(at + 4, at + 28)
}
