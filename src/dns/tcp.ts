/**
 * @module dns/tcp
 * The TCP transport (RFC 7766): 2-byte length framing, several queries per connection answered in order,
 * an idle timeout that also ends a client stalled half-way through a message, connections kept or closed
 * under pressure by a pool shared by every listener (tcp-pool.ts), and reading paused while a client does
 * not read its answers.
 */
import net from 'node:net'
import type { Logger } from 'pino'
import { answer, DROP, FORWARD, refuse, Reply, HANDOFF } from './answer.ts'
import type { ForwardHook, HandoffHook } from './answer.ts'
import type { Cookies } from './cookies.ts'
import type { Identity } from './identity.ts'
import type { DnsStats } from './stats.ts'
import type { TcpPool } from './tcp-pool.ts'
import type { ViewTable } from './view-table.ts'

export interface TcpOptions {
  readonly host: string
  readonly port: number
  readonly viewTable: ViewTable
  readonly stats: DnsStats
  readonly log: Logger
  /** Admits connections and times them out; one pool for every listener. */
  readonly pool: TcpPool
  readonly forward?: ForwardHook
  readonly handoff?: HandoffHook
  /** NSID and CHAOS TXT (dns/identity.ts); null or absent: neither. */
  readonly identity?: Identity | null
  /** DNS cookies (dns/cookies.ts); null or absent: off. */
  readonly cookies?: Cookies | null
}

export interface TcpListener {
  readonly server: net.Server
  /** Stops accepting, lets connections finish what they read for up to `graceMs`, then ends them. */
  close(graceMs: number): Promise<void>
}

/** Writes one length-prefixed message; pauses reading while the client does not read its answers. */
function writeFramed(sock: net.Socket, parts: readonly Buffer[], pool: TcpPool): void {
  pool.touch(sock)
  let total = 0
  for (const p of parts) total += p.length
  const len = Buffer.allocUnsafe(2)
  len.writeUInt16BE(total, 0)
  if (!sock.write(Buffer.concat([len, ...parts], total + 2))) {
    sock.pause()
    sock.once('drain', () => sock.resume())
  }
}

export function listenTcp(opts: TcpOptions): Promise<TcpListener> {
  const { viewTable, stats, log, forward, handoff, pool } = opts
  const table = viewTable.default.table
  const reply = new Reply(opts.identity ?? null, opts.cookies ?? null)
  const sockets = new Set<net.Socket>()
  const server = net.createServer({ noDelay: true })

  server.on('connection', (sock) => {
    sockets.add(sock)
    const peer = { address: sock.remoteAddress ?? '', port: sock.remotePort ?? 0 }
    let pending: Buffer | null = null
    // When the unfinished message began: a client dripping bytes must still finish within the idle timeout.
    let pendingSince = 0
    pool.admit(sock, peer.address) // sets the idle timeout too
    sock.on('timeout', () => { stats.tcpClosed.idle_timeout++; sock.destroy() })
    sock.on('close', () => { sockets.delete(sock); pool.remove(sock) })
    sock.on('error', () => sock.destroy())
    sock.on('data', (chunk: Buffer) => {
      pool.touch(sock)
      let buf = pending === null ? chunk : Buffer.concat([pending, chunk])
      let off = 0
      while (buf.length - off >= 2) {
        const size = buf.readUInt16BE(off)
        if (buf.length - off - 2 < size) break
        // Each read hands us a new Buffer, so the frame can be patched in place: nothing reuses it.
        const msg = buf.subarray(off + 2, off + 2 + size)
        off += 2 + size
        stats.queriesTcp++
        let outcome
        reply.peer = peer.address
        try {
          outcome = answer(msg, true, viewTable.split ? viewTable.pick(peer.address).table : table, reply, viewTable.subnets && viewTable.trustsSubnet(peer.address) ? viewTable : null)
          if (reply.cookie !== 0) stats.cookie(reply.cookie)
        } catch (err) {
          stats.dropped.internal_error++
          log.error({ err }, 'internal error answering a TCP query; closed the connection')
          sock.destroy()
          return
        }
        if (outcome === DROP) { stats.dropped.malformed++; continue }
        stats.qtype(true, reply.qtype)
        if (outcome === HANDOFF) {
          // A transfer is written message after message; a large zone takes a while, so the frame is copied.
          const send = (msgs: readonly Buffer[]): void => { for (const m of msgs) if (!sock.destroyed) { stats.response(m); writeFramed(sock, [m], pool) } }
          if (handoff !== undefined && handoff(Buffer.from(msg), reply, peer, true, send)) continue
          refuse(msg, reply)
        }
        // Forwarded answers are written when they come (RFC 7766 6.2.1.1 allows out-of-order answers).
        if (outcome === FORWARD && forward !== undefined
          && forward(msg, reply, peer, true, (out) => { if (!sock.destroyed) { stats.response(out); writeFramed(sock, [out], pool) } })) continue
        stats.response(reply.head)
        writeFramed(sock, [reply.head, reply.body, reply.auth, reply.opt], pool)
      }
      if (off === buf.length) {
        pending = null
        return
      }
      const now = Date.now()
      if (pending === null || off > 0) pendingSince = now
      else if (now - pendingSince > pool.idleTimeoutMs) { stats.tcpClosed.idle_timeout++; sock.destroy(); return }
      pending = off > 0 ? Buffer.from(buf.subarray(off)) : buf // a copy, so the whole chunk is not pinned
    })
  })

  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: opts.host, port: opts.port, ipv6Only: opts.host.includes(':'), exclusive: true }, () => {
      server.off('error', reject)
      server.on('error', (err) => log.warn({ err }, 'TCP listener error'))
      resolve({
        server,
        close(graceMs: number): Promise<void> {
          return new Promise((done) => {
            server.close(() => done())
            // Half-close: connections finish the queries they have, and the client sees EOF (RFC 7766 6.2.3).
            for (const s of sockets) s.end()
            setTimeout(() => { for (const s of sockets) s.destroy() }, graceMs).unref()
          })
        },
      })
    })
  })
}
