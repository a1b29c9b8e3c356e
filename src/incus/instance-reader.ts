/**
 * @module incus/instance-reader
 * Reads one instance between full syncs, after its lifecycle event or for the address watch (fetch-queue.ts
 * calls it within the request budget), and hands what it maps to the publisher. Reads of one instance never
 * overlap: a call while one runs makes one more read after it (coalesce.ts). An instance that does not fit
 * the shape keeps its last records; an Error stub from an offline cluster member is held, not removed.
 */
import type { Logger } from 'pino'
import type { IncusClient } from './api/client.ts'
import type { ClusterState } from './api/cluster.ts'
import { isErrorStub } from './api/cluster.ts'
import { readInstance } from './api/instance-shape.ts'
import type { Instance } from './api/types.ts'
import { PerKey } from './coalesce.ts'
import { faultClass } from './fault-log.ts'
import type { FaultLog } from './fault-log.ts'
import type { FetchWhy } from './fetch-queue.ts'
import { LeaseCache } from './leases.ts'
import type { Mapped } from './naming/map.ts'
import type { UnreadableInstances } from './unreadable.ts'

export interface InstanceReaderOptions {
  readonly client: IncusClient
  readonly log: Logger
  readonly faults: FaultLog
  readonly cluster: ClusterState
  readonly unreadable: UnreadableInstances
  /** `<project>/<name>` (after `<remote>:`) → project and name. */
  readonly split: (key: string) => [string, string]
  /** Maps an instance as the source keys and maps them (the lease fallback included). */
  readonly map: (inst: Instance, leases: LeaseCache) => Promise<Mapped>
  /** What was read: the instance as mapped, or null when it is gone. */
  readonly read: (key: string, mapped: Mapped | null) => void
  /** Counts a read Incus did not answer. */
  readonly failed: () => void
  readonly stopped: () => boolean
}

export class InstanceReader {
  readonly #o: InstanceReaderOptions
  readonly #running = new PerKey()

  constructor(options: InstanceReaderOptions) {
    this.#o = options
  }

  /**
   * Reads instance `key` and applies it. False when Incus did not answer: logged once per kind of failure
   * and minute, worded for why it was read.
   */
  async read(key: string, why: FetchWhy): Promise<boolean> {
    const o = this.#o
    const [project, name] = o.split(key)
    try {
      await this.#running.run(key, async () => {
        const got = await o.client.instance(project, name)
        const read = got === null ? null : readInstance(got.raw)
        if (read !== null && !read.ok) { o.unreadable.note(key, read.problem); return } // its last good records stay
        const inst = read?.instance ?? null
        if (inst !== null && isErrorStub(inst)) { o.cluster.hold(key, inst.location); return }
        o.cluster.release(key)
        o.unreadable.readable(key)
        o.read(key, inst === null ? null : await o.map(inst, new LeaseCache(o.client, o.log)))
      }, o.stopped)
      return true
    } catch (err) {
      o.failed()
      o.faults.warn(`${why}:${faultClass(err)}`, { instance: key, err: (err as Error).message }, why === 'event'
        ? 'could not read an instance after its lifecycle event; the next full sync will'
        : 'could not read an instance whose address the watch waits for; it is polled less often until Incus answers')
      return false
    }
  }
}
