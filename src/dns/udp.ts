/**
 * @module dns/udp
 * The UDP transport: one `message` handler, defined once; each datagram arrives in its own Buffer
 * (node src/udp_wrap.cc OnRecv), so its header is patched in place and sent back with the precompiled
 * sections, which are never written again.
 */
import dgram from 'node:dgram'
import type { Logger } from 'pino'
import { answer, DROP, FORWARD, refuse, Reply, HANDOFF } from './answer.ts'
import type { ForwardHook, HandoffHook } from './answer.ts'
import { EMPTY } from './bytes.ts'
import type { Cookies } from './cookies.ts'
import { RRL_DROP, RRL_SEND, slipped } from './rrl.ts'
import type { Rrl } from './rrl.ts'
import type { Identity } from './identity.ts'
import type { DnsStats } from './stats.ts'
import type { ViewTable } from './view-table.ts'

const RECV_BUFFER_BYTES = 4 * 1024 * 1024

export interface UdpOptions {
  readonly host: string
  readonly port: number
  /** The answer tables: the default view's, and the client-picked ones when views are configured. */
  readonly viewTable: ViewTable
  readonly stats: DnsStats
  readonly log: Logger
  /** Answers names outside our zones (forwarding), when configured. */
  readonly forward?: ForwardHook
  /** Answers AXFR/IXFR, when configured. */
  readonly handoff?: HandoffHook
  /** SO_REUSEPORT, so worker threads can bind the same address and port. */
  readonly reusePort?: boolean
  /** NSID and CHAOS TXT (dns/identity.ts); null or absent: neither. */
  readonly identity?: Identity | null
  /** DNS cookies (dns/cookies.ts); null or absent: off. */
  readonly cookies?: Cookies | null
  /** Response rate limiting (dns/rrl.ts); null or absent: off. */
  readonly rrl?: Rrl | null
}

export function bindUdp(opts: UdpOptions): Promise<dgram.Socket> {
  const { viewTable, stats, log, forward, handoff } = opts
  const rrl = opts.rrl ?? null
  const table = viewTable.default.table // never replaced: views change what `pick` returns, not this
  const v6 = opts.host.includes(':')
  const reusePort = opts.reusePort === true
  const socket = dgram.createSocket(v6 ? { type: 'udp6', ipv6Only: true, reusePort } : { type: 'udp4', reusePort })
  const reply = new Reply(opts.identity ?? null, opts.cookies ?? null)

  socket.on('message', (msg, rinfo) => {
    const t0 = performance.now()
    stats.queriesUdp++
    let outcome
    reply.peer = rinfo.address
    try {
      outcome = answer(msg, false, viewTable.split ? viewTable.pick(rinfo.address).table : table, reply, viewTable.subnets && viewTable.trustsSubnet(rinfo.address) ? viewTable : null)
      if (reply.cookie !== 0) stats.cookie(reply.cookie)
    } catch (err) {
      // Last resort: answer() is written not to throw; if it ever does, count it and keep serving.
      stats.dropped.internal_error++
      log.error({ err }, 'internal error answering a UDP query; dropped it')
      return
    }
    if (outcome === DROP) { stats.dropped.malformed++; return }
    stats.qtype(false, reply.qtype)
    if (outcome === HANDOFF && reply.online && rrl !== null && !reply.proven) {
      // A signature made per query (dns/online-sign.ts) costs ~60 µs: rate limited before it is made, grouped by
      // the closest encloser the query fell under (a zone's names that do not exist, a wildcard's expansions).
      const verdict = rrl.check(rinfo.address, reply.head, [Buffer.from(reply.key, 'latin1')], t0)
      if (verdict !== RRL_SEND) {
        stats.limited(verdict, rrl.options.logOnly)
        if (!rrl.options.logOnly) {
          if (verdict === RRL_DROP) return
          const head = Buffer.from(reply.head)
          head[2] = 0x80 | ((head[2] as number) & 0x79)
          head[3] = (head[3] as number) & 0x10
          head.writeUInt16BE(1, 4)
          slipped(head, reply.opt.length > 0)
          stats.response(head)
          socket.send([head, reply.opt], rinfo.port, rinfo.address)
          return
        }
      }
    }
    if (outcome === HANDOFF) {
      const send = (msgs: readonly Buffer[]): void => { for (const m of msgs) { stats.response(m); socket.send(m, rinfo.port, rinfo.address) } }
      if (handoff !== undefined && handoff(msg, reply, rinfo, false, send)) return
      refuse(msg, reply)
    }
    if (outcome === FORWARD && forward !== undefined
      && forward(msg, reply, rinfo, false, (out) => { stats.response(out); socket.send(out, rinfo.port, rinfo.address) })) return
    // Not ours and not forwarded: `reply` holds REFUSED.
    const head = reply.head
    // Rate limiting: every UDP response but to a client a DNS cookie proved (TCP never gets here).
    if (rrl !== null && !reply.proven) {
      const verdict = rrl.check(rinfo.address, head, [reply.body, reply.auth], t0)
      if (verdict !== RRL_SEND) {
        stats.limited(verdict, rrl.options.logOnly)
        if (!rrl.options.logOnly) {
          if (verdict === RRL_DROP) return
          slipped(head, reply.opt.length > 0)
          reply.body = EMPTY
          reply.auth = EMPTY
        }
      }
    }
    stats.response(head)
    // Only the parts there are: dgram copies and checks each list element.
    const parts = reply.auth.length === 0 && reply.opt.length === 0
      ? (reply.body.length === 0 ? [head] : [head, reply.body])
      : [head, reply.body, reply.auth, reply.opt]
    socket.send(parts, rinfo.port, rinfo.address)
    stats.observe((performance.now() - t0) / 1000)
  })

  return new Promise((resolve, reject) => {
    socket.once('error', reject)
    socket.bind({ address: opts.host, port: opts.port, exclusive: !reusePort }, () => {
      socket.off('error', reject)
      socket.on('error', (err) => log.warn({ err }, 'UDP socket error'))
      // A deeper receive queue absorbs bursts (the kernel caps it at net.core.rmem_max).
      try { socket.setRecvBufferSize(RECV_BUFFER_BYTES) } catch { /* keep the default */ }
      log.debug({ address: opts.host, port: socket.address().port, recvBufferBytes: socket.getRecvBufferSize() }, 'UDP socket bound')
      resolve(socket)
    })
  })
}
