/**
 * @module dns/workers
 * The main thread's side of `--workers N`: starts N-1 UDP worker threads on the listen addresses (the main
 * thread keeps answering UDP too, and alone serves TCP), keeps their answer-table replicas current, answers
 * the forwarded and transfer queries they pass on, and sums their counters for /metrics.
 */
import type dgram from 'node:dgram'
import { Worker } from 'node:worker_threads'
import type { Logger } from 'pino'
import { Reply } from './answer.ts'
import type { ForwardHook, HandoffHook } from './answer.ts'
import type { Cookies } from './cookies.ts'
import type { Identity } from './identity.ts'
import { encodeChanges } from './replica.ts'
import type { ListenAddress } from '../address.ts'
import { addInto } from '../histogram.ts'
import { DnsStats } from './stats.ts'
import type { ViewTable } from './view-table.ts'
import type { StatsSnapshot, ToWorker, WorkerData, WorkerMessage } from './worker-messages.ts'

export interface WorkerPoolOptions {
  readonly count: number
  /** The addresses as bound by the main thread (ports resolved). */
  readonly listen: readonly ListenAddress[]
  /** The main thread's UDP socket for each listen address, to answer passed-on queries from. */
  readonly sockets: readonly dgram.Socket[]
  /** The views whose tables the workers replicate; call `viewsChanged()` after changing them. */
  readonly viewTable: ViewTable
  readonly stats: DnsStats
  readonly forward?: ForwardHook
  readonly handoff?: HandoffHook
  readonly log: Logger
  /** NSID and CHAOS TXT, answered by the workers too. */
  readonly identity?: Identity | null
  /** Response rate limiting's settings, applied by the workers too (each thread its own buckets). */
  readonly rrl?: WorkerData['rrl']
  /** DNS cookies, answered by the workers too; call `cookiesChanged()` after a rotation. */
  readonly cookies?: Cookies | null
}

export interface WorkerPool {
  /** Main-thread counters plus every worker's latest ones. */
  totals(): DnsStats
  /** Queries per view, summed over the main thread and the workers. */
  viewQueries(): Map<string, number>
  /** Replicates views added or dropped since the last call, then the client prefixes. */
  viewsChanged(): void
  /** Hands the cookies' new secrets to every worker. */
  cookiesChanged(): void
  close(): Promise<void>
}

const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength)

function cookieData(c: Cookies | null): WorkerData['cookies'] {
  if (c === null) return null
  const { current, previous } = c.secrets
  return { mode: c.mode, current: current.toString('hex'), previous: previous?.toString('hex') ?? null }
}

export async function startWorkers(o: WorkerPoolOptions): Promise<WorkerPool> {
  const workers: Worker[] = []
  const latest = new Map<Worker, StatsSnapshot>()
  const post = (m: ToWorker): void => { for (const worker of workers) worker.postMessage(m) }
  /** The views replicated now, by name, with their tables. */
  const replicated = new Map<string, ViewTable['all'][number]>()
  const replicate = (view: ViewTable['all'][number]): void => {
    replicated.set(view.name, view)
    view.table.listener = (changes) => post({ kind: 'changes', view: view.name, changes: encodeChanges(changes) })
    // Signed zones: the signed twin too, which queries with DO get.
    if (view.table.signed !== null) view.table.signed.listener = (changes) => post({ kind: 'changes', view: view.name, signed: true, changes: encodeChanges(changes) })
  }
  const snapshotsOf = (view: ViewTable['all'][number]): ToWorker[] => [
    { kind: 'changes', view: view.name, changes: encodeChanges(view.table.snapshot()) },
    ...(view.table.signed === null ? [] : [{ kind: 'changes', view: view.name, signed: true, changes: encodeChanges(view.table.signed.snapshot()) } satisfies ToWorker]),
  ]
  const unreplicate = (view: ViewTable['all'][number]): void => {
    view.table.listener = null
    if (view.table.signed !== null) view.table.signed.listener = null
  }
  const prefixes = (): ToWorker => ({ kind: 'prefixes', prefixes: o.viewTable.prefixes })
  for (const view of o.viewTable.all) replicate(view)
  const ready: Promise<void>[] = []
  for (let i = 0; i < o.count; i++) {
    // worker.ts when run from the sources, worker.js when compiled (dist/, npm start): the same folder as this file.
    const file = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url)
    const identity = o.identity === undefined || o.identity === null ? null : { id: o.identity.id, version: o.identity.version }
    const worker = new Worker(file, { workerData: { listen: o.listen, identity, subnetSources: o.viewTable.subnetSources, cookies: cookieData(o.cookies ?? null), rrl: o.rrl ?? null } satisfies WorkerData })
    workers.push(worker)
    for (const view of o.viewTable.all) for (const m of snapshotsOf(view)) worker.postMessage(m)
    worker.postMessage(prefixes())
    let bound = 0
    ready.push(new Promise((resolve, reject) => {
      worker.on('error', (err) => { o.log.error({ err }, 'UDP worker failed'); reject(err) })
      worker.on('message', (m: WorkerMessage) => {
        if (m.kind === 'bound') { if (++bound === o.listen.length) resolve() ; return }
        if (m.kind === 'stats') { latest.set(worker, m.stats); return }
        passedOn(m, o)
      })
    }))
  }
  await Promise.all(ready)
  o.log.info({ workers: o.count + 1 }, 'answering UDP on several threads (SO_REUSEPORT)')
  return {
    totals() {
      const t = new DnsStats()
      const add = (s: StatsSnapshot | DnsStats): void => {
        t.queriesUdp += s.queriesUdp
        t.truncated += s.truncated
        t.dropped.malformed += s.dropped.malformed
        t.dropped.internal_error += s.dropped.internal_error
        s.responses.forEach((v, i) => { t.responses[i] = (t.responses[i] as number) + v })
        s.cookies.forEach((v, i) => { t.cookies[i] = (t.cookies[i] as number) + v })
        s.rrl.forEach((v, i) => { t.rrl[i] = (t.rrl[i] as number) + v })
        for (const k of [0, 1] as const) s.qtypes[k].forEach((v, i) => { t.qtypes[k][i] = (t.qtypes[k][i] as number) + v })
        addInto(t.latency, s.latency)
      }
      add(o.stats)
      t.queriesTcp = o.stats.queriesTcp
      Object.assign(t.tcpClosed, o.stats.tcpClosed)
      t.tcpPressure = o.stats.tcpPressure
      for (const s of latest.values()) add(s)
      return t
    },
    viewQueries() {
      const out = new Map<string, number>(o.viewTable.all.map((v) => [v.name, v.queries]))
      for (const s of latest.values()) for (const [name, n] of s.views) out.set(name, (out.get(name) ?? 0) + n)
      return out
    },
    cookiesChanged() {
      const c = cookieData(o.cookies ?? null)
      if (c !== null) post({ kind: 'cookies', current: c.current, previous: c.previous })
    },
    viewsChanged() {
      const now = new Set(o.viewTable.all)
      for (const [name, view] of replicated) {
        if (now.has(view)) continue
        unreplicate(view)
        replicated.delete(name)
        post({ kind: 'drop', view: name })
      }
      for (const view of now) {
        if (replicated.get(view.name) === view) continue
        replicate(view)
        for (const m of snapshotsOf(view)) post(m)
      }
      post(prefixes())
    },
    async close() {
      for (const view of replicated.values()) unreplicate(view)
      await Promise.all(workers.map((w) => w.terminate()))
    },
  }
}

/** A query a worker could not answer alone: forwarding or a transfer, answered from the main socket. */
function passedOn(m: Extract<WorkerMessage, { kind: 'forward' | 'handoff' }>, o: WorkerPoolOptions): void {
  const socket = o.sockets[m.listen]
  if (socket === undefined) return
  const req = asBuffer(m.req)
  const reply = new Reply()
  reply.head = req.subarray(0, m.info.qend)
  reply.key = m.info.key
  reply.ednsSize = m.info.ednsSize
  reply.ednsDo = m.info.ednsDo
  reply.qtype = m.info.qtype
  const send = (out: Buffer): void => { o.stats.response(out); socket.send(out, m.port, m.address) }
  const peer = { address: m.address, port: m.port }
  const handled = m.kind === 'forward'
    ? o.forward?.(req, reply, peer, false, send) ?? false
    : o.handoff?.(req, reply, peer, false, (msgs) => { for (const x of msgs) send(x) }) ?? false
  if (!handled) send(asBuffer(m.refused))
}
