/**
 * @module incus/sync-reader
 * A full sync's reading, off the thread that answers: a worker thread (sync-worker.ts) fetches every instance
 * and the managed networks, parses them (tens of MB at 10k instances), maps each one and sends back only the
 * instances whose mapping changed since it last sent them, with the keys of all it saw. The main thread says
 * which keys it changed itself between syncs (events), so the worker sends those again whatever its memory
 * says. Measured (bench/sync.ts): at 10k instances answers waited up to 343 ms during a sync on the main
 * thread; see bench/README.md for after.
 */
import { Worker } from 'node:worker_threads'
import type { IncusClient } from './api/client.ts'
import type { SyncReply, SyncRequest, SyncResult, SyncWorkerData } from './sync-messages.ts'

/** A failed read, as the Incus client would have thrown it: its words, its code, and whether the member was unreachable. */
export class SyncReadError extends Error {
  readonly code: string | undefined
  readonly unreachable: boolean
  constructor(message: string, code: string | undefined, unreachable: boolean) {
    super(message)
    this.code = code
    this.unreachable = unreachable
  }
}

export class SyncReader {
  readonly #data: SyncWorkerData
  #worker: Worker | null = null
  #next = 1
  /** Closed for good: a sync still on its way when the source stopped must not start a new thread. */
  #closed = false
  readonly #pending = new Map<number, { resolve: (r: SyncResult) => void; reject: (e: Error) => void }>()

  constructor(data: SyncWorkerData) {
    this.#data = data
  }

  read(url: string | null, forget: readonly string[]): Promise<SyncResult> {
    if (this.#closed) return Promise.reject(new SyncReadError('the Incus sync thread is stopped', undefined, false))
    const worker = this.#start()
    const id = this.#next++
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      worker.postMessage({ id, url, forget } satisfies SyncRequest)
    })
  }

  /**
   * Reads a sync from the client's member in use; one that cannot be reached is left for the next member
   * (the client's list), within this call.
   */
  async readFrom(client: IncusClient, forget: readonly string[]): Promise<SyncResult> {
    const tries = client.members?.urls.length ?? 1
    for (let attempt = 1; ; attempt++) {
      const conn = client.connection
      try {
        // The worker forgets those keys on the first try whatever happens; later tries need not repeat them.
        return await this.read(conn.kind === 'https' ? conn.url : null, attempt === 1 ? forget : [])
      } catch (err) {
        if (!(err instanceof SyncReadError) || !err.unreachable || conn.kind !== 'https' || attempt >= tries) throw err
        // Moved already (the event stream found that member dead first): read from the one in use now.
        if (client.connection.kind === 'https' && client.connection.url !== conn.url) continue
        if (!client.memberFailed(conn.url, err.message)) throw err
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    const w = this.#worker
    this.#worker = null
    await w?.terminate()
  }

  #start(): Worker {
    if (this.#worker !== null) return this.#worker
    // sync-worker.ts when run from the sources, sync-worker.js when compiled (dist/): the same folder as this file.
    const file = new URL(import.meta.url.endsWith('.ts') ? './sync-worker.ts' : './sync-worker.js', import.meta.url)
    const worker = new Worker(file, { workerData: this.#data })
    worker.unref()
    worker.on('message', (r: SyncReply) => {
      const p = this.#pending.get(r.id)
      if (p === undefined) return
      this.#pending.delete(r.id)
      if (r.ok) p.resolve(r)
      else p.reject(new SyncReadError(r.message, r.code, r.unreachable))
    })
    // A worker that dies fails what it had; the next read starts a new one (which sends everything again).
    const failAll = (why: string): void => {
      if (this.#worker === worker) this.#worker = null
      for (const p of this.#pending.values()) p.reject(new SyncReadError(`the Incus sync thread ${why}`, undefined, false))
      this.#pending.clear()
    }
    worker.on('error', (err) => failAll(`failed: ${err.message}`))
    worker.on('exit', (code) => failAll(`exited (${code})`))
    this.#worker = worker
    return worker
  }
}
