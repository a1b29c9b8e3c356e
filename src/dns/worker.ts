/**
 * @module dns/worker
 * A UDP worker thread (`--workers N`): its own socket on each listen address (SO_REUSEPORT, so the kernel
 * spreads clients over the threads), a replica of the answer table fed by the main thread, and the same
 * hot path. Forwarded queries and transfers go to the main thread, which answers them from its own socket
 * on the same address and port. Counters are sent to the main thread every second for /metrics.
 */
import dgram from 'node:dgram'
import { parentPort, workerData } from 'node:worker_threads'
import { AnswerTable } from '../zone/table.ts'
import type { ZoneNegative } from '../zone/table.ts'
import { answer, DROP, FORWARD, refuse, Reply, TRANSFER } from './answer.ts'
import type { ReplyInfo, WorkerData, WorkerMessage } from './workers.ts'
import { applyChanges } from './replica.ts'
import type { WireChanges } from './replica.ts'
import { DnsStats } from './stats.ts'

const data = workerData as WorkerData
const port = parentPort
if (port === null) throw new Error('dns/worker.ts runs as a worker thread')
const table = new AnswerTable()
const negatives = new Map<string, ZoneNegative>()
const stats = new DnsStats()
const reply = new Reply()

port.on('message', (m: { changes: WireChanges }) => applyChanges(table, negatives, m.changes))

for (const [index, at] of data.listen.entries()) {
  const socket = dgram.createSocket(at.host.includes(':') ? { type: 'udp6', ipv6Only: true, reusePort: true } : { type: 'udp4', reusePort: true })
  socket.on('message', (msg, rinfo) => {
    const t0 = performance.now()
    stats.queriesUdp++
    let outcome
    try {
      outcome = answer(msg, false, table, reply)
    } catch {
      stats.dropped.internal_error++
      return
    }
    if (outcome === DROP) { stats.dropped.malformed++; return }
    stats.qtype(false, reply.qtype)
    if (outcome === FORWARD || outcome === TRANSFER) {
      // The main thread has the forwarder and the transfer code; it answers from its socket on this port.
      const original = outcome === TRANSFER ? Buffer.from(msg) : msg
      if (outcome === TRANSFER) refuse(msg, reply)
      const info: ReplyInfo = { key: reply.key, ednsSize: reply.ednsSize, ednsDo: reply.ednsDo, qtype: reply.qtype, qend: reply.head.length }
      const refused = Buffer.concat([reply.head, reply.opt])
      port.postMessage({ kind: outcome === FORWARD ? 'forward' : 'transfer', listen: index, req: original, info, refused, address: rinfo.address, port: rinfo.port } satisfies WorkerMessage)
      return
    }
    stats.response(reply.head)
    socket.send([reply.head, reply.body, reply.auth, reply.opt], rinfo.port, rinfo.address)
    stats.observe((performance.now() - t0) / 1000)
  })
  socket.bind({ address: at.host, port: at.port }, () => {
    try { socket.setRecvBufferSize(4 * 1024 * 1024) } catch { /* default */ }
    port.postMessage({ kind: 'bound', listen: index } satisfies WorkerMessage)
  })
}

setInterval(() => port.postMessage({ kind: 'stats', stats: {
  queriesUdp: stats.queriesUdp, truncated: stats.truncated, dropped: { ...stats.dropped }, responses: stats.responses,
  qtypes: [stats.qtypes[0], stats.qtypes[1]], latencyCounts: stats.latencyCounts, latencySum: stats.latencySum, latencyCount: stats.latencyCount,
} } satisfies WorkerMessage), 1000).unref()
