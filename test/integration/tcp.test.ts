/**
 * The TCP transport (RFC 7766): framing, pipelining, idle timeout, stalled clients, connection cap.
 */
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ZONES_DIR } from '../conformance/cases.ts'
import { waitFor } from '../helpers/net.ts'
import { decode, query } from '../helpers/packets.ts'
import { startServer } from '../helpers/server.ts'

function frame(msg: Buffer): Buffer {
  const len = Buffer.alloc(2)
  len.writeUInt16BE(msg.length)
  return Buffer.concat([len, msg])
}

/** A TCP client that collects framed replies and notices when the server closes. */
class Client {
  readonly sock: net.Socket
  readonly replies: Buffer[] = []
  closed = false
  #buf = Buffer.alloc(0)
  constructor(port: number) {
    this.sock = net.connect(port, '127.0.0.1')
    this.sock.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d])
      while (this.#buf.length >= 2 && this.#buf.length >= 2 + this.#buf.readUInt16BE(0)) {
        this.replies.push(this.#buf.subarray(2, 2 + this.#buf.readUInt16BE(0)))
        this.#buf = this.#buf.subarray(2 + this.#buf.readUInt16BE(0))
      }
    })
    this.sock.on('close', () => { this.closed = true })
    this.sock.on('error', () => { this.closed = true })
  }
  connected(): Promise<void> { return new Promise((r) => this.sock.once('connect', () => r())) }
}

describe('TCP transport', () => {
  let server: Awaited<ReturnType<typeof startServer>>
  beforeAll(async () => {
    server = await startServer(ZONES_DIR, ['--tcp-idle-timeout', '400ms', '--tcp-max-connections', '3'])
  })
  afterAll(async () => { await server?.stop() })

  it('answers pipelined queries sent in one write, in order', async () => {
    const c = new Client(server.port)
    const names = ['web.example.org', 'www.example.org', 'nothere.example.org', 'example.org', 'example.com']
    c.sock.write(Buffer.concat(names.map((n, i) => frame(query(n, 'A', { id: 100 + i })))))
    await waitFor(() => c.replies.length === names.length, 2000)
    expect(c.replies.map((r) => decode(r).id)).toEqual([100, 101, 102, 103, 104])
    expect(c.replies.map((r) => decode(r).rcode)).toEqual([0, 0, 3, 0, 5])
    c.sock.destroy()
  })

  it('reassembles a query sent one byte at a time', async () => {
    const c = new Client(server.port)
    await c.connected()
    const bytes = frame(query('web.example.org', 'A', { id: 9 }))
    for (const b of bytes) {
      c.sock.write(Buffer.from([b]))
      await new Promise((r) => setImmediate(r))
    }
    await waitFor(() => c.replies.length === 1, 2000)
    expect(decode(c.replies[0] as Buffer).answer).toEqual(['web.example.org. 60 IN A 192.0.2.80'])
    c.sock.destroy()
  })

  it('keeps the connection after a malformed message and answers the next', async () => {
    const c = new Client(server.port)
    const bad = Buffer.from('1234010000020000000000000000', 'hex') // QDCOUNT 2, no questions
    c.sock.write(Buffer.concat([frame(bad), frame(Buffer.alloc(3)), frame(query('web.example.org', 'A', { id: 11 }))]))
    await waitFor(() => c.replies.length === 2, 2000)
    expect(decode(c.replies[0] as Buffer).rcode).toBe(1)
    expect(decode(c.replies[1] as Buffer).id).toBe(11)
    c.sock.destroy()
  })

  it('closes an idle connection after the idle timeout', async () => {
    const c = new Client(server.port)
    await c.connected()
    const opened = Date.now()
    await waitFor(() => c.closed, 3000)
    expect(Date.now() - opened).toBeGreaterThanOrEqual(300)
  })

  it('closes a client that stalls half-way through a message', async () => {
    const c = new Client(server.port)
    await c.connected()
    c.sock.write(frame(query('web.example.org', 'A')).subarray(0, 10))
    await waitFor(() => c.closed, 3000)
    expect(c.replies).toHaveLength(0)
  })

  it('closes a client that drips a message slower than the idle timeout allows', async () => {
    const c = new Client(server.port)
    await c.connected()
    const bytes = frame(query('web.example.org', 'A'))
    const started = Date.now()
    for (const b of bytes) {
      if (c.closed) break
      c.sock.write(Buffer.from([b]))
      await new Promise((r) => setTimeout(r, 100))
    }
    await waitFor(() => c.closed, 3000)
    expect(c.replies).toHaveLength(0)
    expect(Date.now() - started).toBeLessThan(bytes.length * 100)
  })

  it('at the cap, closes the connection idle longest so that a new one gets in (RFC 7766 6.2.3)', async () => {
    const held = [new Client(server.port), new Client(server.port), new Client(server.port)]
    for (const c of held) await c.connected() // in this order: held[0] is the idlest
    await new Promise((r) => setTimeout(r, 20))
    held[1]?.sock.write(frame(query('web.example.org', 'A', { id: 4 }))) // active: not the one to go
    await waitFor(() => held[1]?.replies.length === 1, 1000)
    const before = server.stats.tcpClosed.idle_at_cap
    const fresh = new Client(server.port)
    fresh.sock.write(frame(query('web.example.org', 'A', { id: 5 })))
    await waitFor(() => fresh.replies.length === 1, 1000)
    await waitFor(() => held[0]?.closed === true, 1000)
    expect(held[1]?.closed).toBe(false)
    expect(server.stats.tcpClosed.idle_at_cap).toBe(before + 1)
    for (const c of [...held, fresh]) c.sock.destroy()
  })
})
