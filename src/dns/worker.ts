/**
 * @module dns/worker
 * A UDP worker thread (`--workers N`): the same UDP transport as the main thread, on its own socket for each
 * listen address (SO_REUSEPORT, so the kernel spreads clients over the threads), answering from a replica of
 * the answer table fed by the main thread. Forwarded queries and transfers go to the main thread, which
 * answers them from its own socket on the same address and port. Counters go to the main thread every second.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { createLogger } from '../log.ts'
import { AnswerTable } from '../zone/table.ts'
import { refuse } from './answer.ts'
import type { Peer, Reply } from './answer.ts'
import { Acl } from '../address.ts'
import { Cookies } from './cookies.ts'
import { Rrl } from './rrl.ts'
import { makeIdentity } from './identity.ts'
import { applyChanges } from './replica.ts'
import { DnsStats } from './stats.ts'
import { bindUdp } from './udp.ts'
import { ViewTable } from './view-table.ts'
import type { View } from './view-table.ts'
import type { ToWorker, WorkerData, WorkerMessage } from './worker-messages.ts'

const data = workerData as WorkerData
const port = parentPort
if (port === null) throw new Error('dns/worker.ts runs as a worker thread')
const viewTable = new ViewTable(new AnswerTable())
viewTable.setSubnetSources(data.subnetSources)
const identity = data.identity === null ? null : makeIdentity(data.identity.id, data.identity.version)
const hex = (s: string | null): Buffer | null => (s === null ? null : Buffer.from(s, 'hex'))
const cookies = data.cookies === null ? null : new Cookies(data.cookies.mode, hex(data.cookies.current) as Buffer, hex(data.cookies.previous))
const rrl = data.rrl === null ? null : new Rrl({ ...data.rrl, exempt: data.rrl.exempt.length === 0 ? null : new Acl(data.rrl.exempt) })
/** Every view's replica by name, the default's included. */
const replicas = new Map<string, View>([['default', viewTable.default]])
const stats = new DnsStats()
const log = createLogger('warn').child({ mod: 'udp-worker' })

port.on('message', (m: ToWorker) => {
  if (m.kind === 'changes') {
    let view = replicas.get(m.view)
    if (view === undefined) { view = { name: m.view, table: new AnswerTable(), queries: 0 }; replicas.set(m.view, view) }
    if (m.signed === true) view.table.signed ??= new AnswerTable(true)
    applyChanges(m.signed === true ? view.table.signed as AnswerTable : view.table, m.changes)
  } else if (m.kind === 'drop') {
    replicas.delete(m.view)
  } else if (m.kind === 'cookies') {
    cookies?.setSecrets(hex(m.current) as Buffer, hex(m.previous))
  } else {
    // Prefixes of views this replica does not hold (none: the main thread sends each view's table first) are skipped.
    const known = m.prefixes.flatMap((p) => { const view = replicas.get(p.view); return view === undefined ? [] : [{ cidr: p.cidr, view }] })
    viewTable.set([...replicas.values()], known)
  }
})

for (const [index, at] of data.listen.entries()) {
  /** Hands a query to the main thread with the REFUSED reply to send if nobody there answers it. */
  const passOn = (kind: 'forward' | 'handoff') => (req: Buffer, reply: Reply, peer: Peer): boolean => {
    const original = kind === 'handoff' ? Buffer.from(req) : req // handed off as sent (TSIG signs it so)
    if (kind === 'handoff') refuse(req, reply)
    port.postMessage({
      kind, listen: index, req: original, refused: Buffer.concat([reply.head, reply.opt]), address: peer.address, port: peer.port,
      info: { key: reply.key, ednsSize: reply.ednsSize, ednsDo: reply.ednsDo, qtype: reply.qtype, qend: reply.head.length },
    } satisfies WorkerMessage)
    return true
  }
  await bindUdp({ host: at.host, port: at.port, viewTable, stats, log, reusePort: true, forward: passOn('forward'), handoff: passOn('handoff'), identity, cookies, rrl })
  port.postMessage({ kind: 'bound', listen: index } satisfies WorkerMessage)
}

setInterval(() => port.postMessage({ kind: 'stats', stats: {
  queriesUdp: stats.queriesUdp, truncated: stats.truncated, dropped: { ...stats.dropped }, responses: stats.responses, cookies: stats.cookies, rrl: stats.rrl,
  qtypes: [stats.qtypes[0], stats.qtypes[1]], latency: stats.latency, views: viewTable.all.map((v) => [v.name, v.queries]),
} } satisfies WorkerMessage), 1000).unref()
