/**
 * Upstream doubles for forwarding tests: a counting UDP/TCP relay in front of a real server, and a scripted
 * UDP server that answers (or misbehaves) as a test says.
 */
import dgram from 'node:dgram'
import net from 'node:net'

/** Relays UDP and TCP on 127.0.0.1:<port> to a real server, counting what passes. */
export class CountingProxy {
  udpQueries = 0
  tcpQueries = 0
  readonly questions: string[] = []
  #udp = dgram.createSocket('udp4')
  #tcp = net.createServer()
  port = 0

  static async start(target: number): Promise<CountingProxy> {
    const p = new CountingProxy()
    await new Promise<void>((r) => p.#udp.bind(0, '127.0.0.1', () => r()))
    p.port = p.#udp.address().port
    p.#udp.on('message', (msg, rinfo) => {
      p.udpQueries++
      p.questions.push(questionName(msg))
      const out = dgram.createSocket('udp4')
      out.on('message', (reply) => { p.#udp.send(reply, rinfo.port, rinfo.address); out.close() })
      out.send(msg, target, '127.0.0.1')
      setTimeout(() => { try { out.close() } catch { /* closed */ } }, 3000).unref()
    })
    p.#tcp.on('connection', (client) => {
      p.tcpQueries++
      const upstream = net.connect(target, '127.0.0.1')
      client.pipe(upstream).pipe(client)
      client.on('error', () => upstream.destroy())
      upstream.on('error', () => client.destroy())
    })
    await new Promise<void>((resolve, reject) => { p.#tcp.once('error', reject); p.#tcp.listen(p.port, '127.0.0.1', () => resolve()) })
    return p
  }

  get total(): number { return this.udpQueries + this.tcpQueries }

  async stop(): Promise<void> {
    this.#udp.close()
    await new Promise<void>((r) => this.#tcp.close(() => r()))
  }
}

/** Lowercase dotted qname of a message, for logs. */
export function questionName(msg: Buffer): string {
  const labels: string[] = []
  let off = 12
  while (off < msg.length && msg[off] !== 0) {
    const l = msg[off] as number
    labels.push(msg.subarray(off + 1, off + 1 + l).toString('latin1').toLowerCase())
    off += l + 1
  }
  return labels.join('.')
}

export type Script = (query: Buffer, reply: (msg: Buffer, delayMs?: number) => void) => void

/** A UDP "resolver" whose answers a test writes. Counts queries. */
export class FakeUpstream {
  queries = 0
  readonly #sock = dgram.createSocket('udp4')
  port = 0
  script: Script = () => {}

  static async start(): Promise<FakeUpstream> {
    const f = new FakeUpstream()
    await new Promise<void>((r) => f.#sock.bind(0, '127.0.0.1', () => r()))
    f.port = f.#sock.address().port
    f.#sock.on('message', (msg, rinfo) => {
      f.queries++
      f.script(msg, (out, delayMs = 0) => {
        const send = (): void => f.#sock.send(out, rinfo.port, rinfo.address)
        if (delayMs > 0) setTimeout(send, delayMs)
        else send()
      })
    })
    return f
  }

  async stop(): Promise<void> { this.#sock.close() }
}

/** A response to `query` with one A record, or with `rcode` and no records. */
export function respond(query: Buffer, opts: { address?: string; rcode?: number; ttl?: number; id?: number; question?: Buffer } = {}): Buffer {
  const qend = 12 + (query.subarray(12).indexOf(0) + 1) + 4
  const head = Buffer.from(query.subarray(0, 12))
  if (opts.id !== undefined) head.writeUInt16BE(opts.id, 0)
  head[2] = 0x81
  head[3] = 0x80 | (opts.rcode ?? 0)
  const answer = opts.address === undefined ? Buffer.alloc(0) : Buffer.concat([
    Buffer.from([0xc0, 0x0c, 0, 1, 0, 1]), Buffer.from([0, 0, 0, 0]), Buffer.from([0, 4]), Buffer.from(opts.address.split('.').map(Number)),
  ])
  if (opts.address !== undefined) answer.writeUInt32BE(opts.ttl ?? 300, 6)
  head.writeUInt16BE(opts.address === undefined ? 0 : 1, 6)
  head.writeUInt16BE(0, 8)
  head.writeUInt16BE(0, 10)
  return Buffer.concat([head, opts.question ?? query.subarray(12, qend), answer])
}
