/**
 * @module incus/sync-worker
 * The thread that reads a full sync (sync-reader.ts says why): one request at a time, it lists every instance
 * with its state and the managed networks, maps each instance, and answers with the ones whose mapping
 * changed since it last answered, the Error stubs, and every key it saw. What it sent is remembered only
 * for keys still listed, so an instance that goes and comes back is sent again.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { IncusUnreachableError } from '../errors.ts'
import { createLogger } from '../log.ts'
import { IncusClient } from './api/client.ts'
import { isErrorStub } from './api/cluster.ts'
import { readInstance } from './api/instance-shape.ts'
import type { IncusConnection } from './api/connection.ts'
import { InstanceKeys } from './naming/keys.ts'
import { LeaseCache, mapWithLeases } from './leases.ts'
import { networkFamilies } from './naming/instance-addresses.ts'
import type { Mapped } from './naming/map.ts'
import type { SyncReply, SyncRequest, SyncWorkerData } from './sync-messages.ts'

const data = workerData as SyncWorkerData
const port = parentPort
if (port === null) throw new Error('incus/sync-worker.ts runs as a worker thread')
const log = createLogger('warn').child({ mod: 'incus-sync' })
const keys = new InstanceKeys(data.remote)
const map = { ...data.map, states: new Set(data.map.states) }
/** Key → the mapping last sent, as JSON. */
let sent = new Map<string, string>()
/** One client per member URL (the cluster member in use can change between syncs). */
const clients = new Map<string, IncusClient>()

function clientFor(url: string | null): IncusClient {
  const id = url ?? ''
  let c = clients.get(id)
  if (c === undefined) {
    const base = data.connection
    const conn: IncusConnection = base.kind === 'https' && url !== null ? { ...base, url, urls: [url] } : base
    c = new IncusClient(conn)
    clients.set(id, c)
  }
  return c
}

/** What was last sent for `k` stays what was sent (a held or unreadable instance keeps its last mapping). */
function keep(k: string, next: Map<string, string>): void {
  const last = sent.get(k)
  if (last !== undefined) next.set(k, last)
}

async function read(req: SyncRequest): Promise<SyncReply> {
  for (const k of req.forget) sent.delete(k)
  const client = clientFor(req.url)
  const before = client.bytesRead
  try {
    const instances = await client.instances(data.scope)
    const project = data.scope === 'all' ? 'default' : data.scope.project
    const networks = (await client.networks(project)).filter((n) => n.managed)
    const families = networkFamilies(networks)
    const leases = new LeaseCache(client, log)
    const next = new Map<string, string>()
    const changed: Mapped[] = []
    const stubs: [string, string][] = []
    const seen: string[] = []
    const unreadable: [string | null, string][] = []
    for (const raw of instances) {
      const read = readInstance(raw)
      if (!read.ok) {
        // Listed, so not gone: the main thread keeps its last good records, and so does this memory.
        const k = read.project !== null && read.name !== null ? keys.key(read.project, read.name) : null
        if (k !== null) { seen.push(k); keep(k, next) }
        unreadable.push([k, read.problem])
        continue
      }
      const inst = read.instance
      const k = keys.key(inst.project, inst.name)
      seen.push(k)
      if (isErrorStub(inst)) {
        stubs.push([k, inst.location ?? ''])
        keep(k, next) // held: what it was stays what was sent
        continue
      }
      let keyed: Mapped
      try {
        keyed = keys.keyed(await mapWithLeases(inst, map, families, leases))
      } catch (err) {
        // Not expected (the instance fits the shape the mapping reads); still, one instance fails only itself.
        keep(k, next)
        unreadable.push([k, `it could not be mapped: ${(err as Error).message}`])
        continue
      }
      const json = JSON.stringify(keyed)
      if (sent.get(k) !== json) changed.push(keyed)
      next.set(k, json)
    }
    sent = next
    return { id: req.id, ok: true, networks, changed, stubs, seen, unreadable, requests: client.takeRequests(), bytes: client.bytesRead - before }
  } catch (err) {
    const e = err as Error & { code?: string }
    return { id: req.id, ok: false, message: e.message, ...(e.code !== undefined ? { code: e.code } : {}), unreachable: err instanceof IncusUnreachableError }
  }
}

// One at a time, in order: a sync is never read twice at once.
let chain = Promise.resolve()
port.on('message', (req: SyncRequest) => {
  chain = chain.then(async () => { port.postMessage(await read(req)) })
})
