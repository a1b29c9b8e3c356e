/**
 * TCP under connection pressure (RFC 7766 6.2.3): one loopback address opens 1,500 connections and holds
 * them, some idle and some stalled half-way through a message; new clients, from another address and from
 * the same one, must still be answered. Then four more addresses fill the cap: the idlest connections make
 * room, and the shortened idle timeout clears the rest. Everything stays on 127.0.0.0/8.
 */
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ZONES_DIR } from '../conformance/cases.ts'
import { udpExchange, waitFor } from '../helpers/net.ts'
import { decode, query } from '../helpers/packets.ts'
import { startServer } from '../helpers/server.ts'
import type { TestServer } from '../helpers/server.ts'

const frame = (msg: Buffer): Buffer => Buffer.concat([Buffer.from([msg.length >> 8, msg.length & 255]), msg])

/** Opens `n` connections from `from`, in batches; each stays open until the server closes it. */
async function hold(port: number, from: string, n: number, stall: (i: number) => boolean): Promise<net.Socket[]> {
  const out: net.Socket[] = []
  for (let i = 0; i < n; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, n - i) }, (_, k) => new Promise<void>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1', localAddress: from })
      s.on('error', () => resolve())
      s.on('close', () => resolve())
      s.once('connect', () => { if (stall(i + k)) s.write(Buffer.from([0, 40, 0x12])); resolve() }) // a length, then nothing
      out.push(s)
    })))
  }
  return out
}

/** Connects from `from`, sends one query, and returns the ms until the answer (or throws). */
async function timedQuery(port: number, from: string): Promise<number> {
  const t0 = performance.now()
  return await new Promise<number>((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: from })
    let buf = Buffer.alloc(0)
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`no answer from ${from} within 2 s`)) }, 2000)
    s.on('error', (err) => { clearTimeout(timer); reject(err) })
    s.once('connect', () => s.write(frame(query('web.example.org', 'A', { id: 77 }))))
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(timer)
        const reply = decode(buf.subarray(2, 2 + buf.readUInt16BE(0)))
        s.destroy()
        if (reply.rcode !== 0 || reply.answer.length !== 1) reject(new Error(`bad answer ${JSON.stringify(reply)}`))
        else resolve(performance.now() - t0)
      }
    })
  })
}

describe('TCP under connection pressure', () => {
  let server: TestServer
  const all: net.Socket[] = []
  const open = (): number => all.filter((s) => !s.destroyed && s.readyState === 'open').length
  beforeAll(async () => {
    // A cap of 400 (high-water 300): 250 from one address stay under it, and four more addresses of 250
    // each overfill it many times before the 3 s pressure timeout could empty it; the normal idle timeout
    // is 30 s.
    server = await startServer(ZONES_DIR, ['--tcp-max-connections', '400', '--tcp-idle-timeout', '30s', '--tcp-pressure-idle-timeout', '3s'])
  })
  afterAll(async () => { for (const s of all) s.destroy(); await server?.stop() })

  it('1,500 connections held from one address: new clients from another address and from it still get answers', async () => {
    all.push(...await hold(server.port, '127.0.0.1', 1500, (i) => i % 2 === 0))
    // That address keeps at most its share (250 by default, under the 300 high-water mark); the rest were
    // closed, its idlest first.
    await waitFor(() => server.stats.tcpClosed.per_source_cap >= 1250, 5000, () => JSON.stringify(server.stats.tcpClosed))
    await waitFor(() => open() <= 250, 5000, () => `${open()} open`)
    const other = await timedQuery(server.port, '127.0.0.2')
    const same = await timedQuery(server.port, '127.0.0.1')
    // UDP is answered meanwhile.
    const t0 = performance.now()
    const udp = await udpExchange(server.port, query('web.example.org', 'A', { id: 78 }), 1000)
    const udpMs = performance.now() - t0
    expect(udp === null ? null : decode(udp).answer).toEqual(['web.example.org. 60 IN A 192.0.2.80'])
    console.log(`1,500 held from 127.0.0.1: a new client answered in ${other.toFixed(1)} ms from 127.0.0.2, ${same.toFixed(1)} ms from 127.0.0.1; UDP in ${udpMs.toFixed(1)} ms`)
    expect(other).toBeLessThan(500)
    expect(same).toBeLessThan(500)
  }, 30_000)

  it('at the cap, the idlest make room, and above 3/4 of it idle connections go after the short timeout', async () => {
    const more = await Promise.all(['127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'].map((from) => hold(server.port, from, 250, () => false)))
    all.push(...more.flat())
    await waitFor(() => server.stats.tcpClosed.idle_at_cap >= 1, 5000, () => JSON.stringify(server.stats.tcpClosed))
    expect(server.stats.tcpPressure).toBeGreaterThanOrEqual(1)
    const answered = await timedQuery(server.port, '127.0.0.7')
    expect(answered).toBeLessThan(500)
    await waitFor(() => open() <= 400, 5000, () => `${open()} open`)
    // Nothing is sent on them: after the 3 s pressure timeout (not the 30 s one) they are closed.
    const t0 = Date.now()
    // Down to half the cap (the low-water mark), where the normal timeout comes back.
    await waitFor(() => open() <= 200, 10_000, () => `${open()} open, ${JSON.stringify(server.stats.tcpClosed)}`)
    expect(Date.now() - t0).toBeLessThan(9000)
    expect(server.stats.tcpClosed.idle_timeout).toBeGreaterThanOrEqual(190)
  }, 30_000)
})
