/**
 * @module forward/upstream
 * Upstream resolvers and the order to try them in: configured order, but one that keeps failing is tried
 * last for a while (30 s after a failure, doubling while it goes on failing, capped at 5 minutes).
 */
import dgram from 'node:dgram'
import net from 'node:net'
import { formatAddress } from '../address.ts'

export interface Upstream {
  readonly host: string
  readonly port: number
  /** `host:port` / `[v6]:port`, for logs and metrics. */
  readonly label: string
  failures: number
  penalizedUntil: number
  queries: number
  errors: number
}

export function upstream(host: string, port: number): Upstream {
  return { host, port, label: formatAddress({ host, port }), failures: 0, penalizedUntil: 0, queries: 0, errors: 0 }
}

/** Healthy upstreams in configured order, then the penalized ones (soonest back first). */
export function tryOrder(list: readonly Upstream[], now: number): Upstream[] {
  const healthy = list.filter((u) => u.penalizedUntil <= now)
  const penalized = list.filter((u) => u.penalizedUntil > now).sort((a, b) => a.penalizedUntil - b.penalizedUntil)
  return [...healthy, ...penalized]
}

export function markFailure(u: Upstream, now: number): void {
  u.failures++
  u.errors++
  u.penalizedUntil = now + Math.min(300_000, 30_000 * 2 ** Math.min(u.failures - 1, 4))
}

export function markSuccess(u: Upstream): void {
  u.failures = 0
  u.penalizedUntil = 0
}

export type Accept = (reply: Buffer) => boolean

/**
 * One UDP exchange from a fresh socket on a kernel-chosen random port. Replies from another address or port,
 * or that `accept` rejects (wrong ID or question), are dropped and counted; the first accepted one wins.
 */
export function udpExchange(u: Upstream, msg: Buffer, timeoutMs: number, accept: Accept, onSpoof: () => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(u.host.includes(':') ? 'udp6' : 'udp4')
    let done = false
    const finish = (err: Error | null, reply?: Buffer): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      sock.close()
      if (err !== null) reject(err)
      else resolve(reply as Buffer)
    }
    const timer = setTimeout(() => finish(new Error(`no answer from ${u.label} in ${timeoutMs} ms`)), timeoutMs)
    sock.on('error', (err) => finish(err))
    sock.on('message', (reply, rinfo) => {
      if (rinfo.port !== u.port || !sameAddress(rinfo.address, u.host) || !accept(reply)) { onSpoof(); return }
      finish(null, reply)
    })
    sock.send(msg, u.port, u.host, (err) => { if (err) finish(err) })
  })
}

/** One TCP exchange (RFC 7766 framing). */
export function tcpExchange(u: Upstream, msg: Buffer, timeoutMs: number, accept: Accept, onSpoof: () => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: u.host, port: u.port, noDelay: true })
    let buf = Buffer.alloc(0)
    let done = false
    const finish = (err: Error | null, reply?: Buffer): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      sock.destroy()
      if (err !== null) reject(err)
      else resolve(reply as Buffer)
    }
    const timer = setTimeout(() => finish(new Error(`no answer from ${u.label} over TCP in ${timeoutMs} ms`)), timeoutMs)
    sock.on('error', (err) => finish(err))
    sock.on('close', () => finish(new Error(`${u.label} closed the TCP connection without an answer`)))
    sock.on('connect', () => {
      const len = Buffer.alloc(2)
      len.writeUInt16BE(msg.length)
      sock.write(Buffer.concat([len, msg]))
    })
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const reply = buf.subarray(2, 2 + buf.readUInt16BE(0))
        buf = buf.subarray(2 + reply.length)
        if (accept(reply)) { finish(null, Buffer.from(reply)); return }
        onSpoof()
      }
    })
  })
}

function sameAddress(a: string, b: string): boolean {
  return a === b || a === `::ffff:${b}` || a.toLowerCase() === b.toLowerCase()
}
