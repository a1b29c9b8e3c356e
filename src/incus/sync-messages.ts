/**
 * @module incus/sync-messages
 * What the main thread and the sync thread (sync-reader.ts starts sync-worker.ts) send each other: the
 * thread's start-up data, a request for a full sync, and its reply. A module of their own, so that the thread
 * imports nothing of the module that starts it.
 */
import type { Network } from './api/types.ts'
import type { Scope } from './api/client.ts'
import type { IncusConnection } from './api/connection.ts'
import type { MapSettings, Mapped } from './naming/map.ts'

export interface SyncWorkerData {
  readonly connection: IncusConnection
  readonly scope: Scope
  readonly map: Omit<MapSettings, 'states'> & { readonly states: readonly string[] }
  /** The key prefix's remote (INCUS_DNS_INCUS_REMOTES), or null. */
  readonly remote: string | null
}

export interface SyncRequest {
  readonly id: number
  /** The cluster member to read from (HTTPS), null for the unix socket. */
  readonly url: string | null
  /** Keys whose records the main thread set between syncs: send them again if Incus still lists them. */
  readonly forget: readonly string[]
}

export type SyncReply =
  | {
    readonly id: number
    readonly ok: true
    readonly networks: Network[]
    /** Instances whose mapping differs from what the worker last sent (all of them the first time). */
    readonly changed: Mapped[]
    /** Error stubs (an offline member's instances, §4.1): key and member. */
    readonly stubs: [string, string][]
    /** Every key listed, stubs included. */
    readonly seen: string[]
    /**
     * Instances that do not fit the shape incus-dns reads (api/instance-shape.ts), with what was wrong: their last
     * good records stay. The key is null for one without a project and name (nothing to keep it under).
     */
    readonly unreadable: [string | null, string][]
    /** Requests the sync thread sent Incus since its last reply, by kind (api/client.ts kindOf). */
    readonly requests: Record<string, number>
    readonly bytes: number
  }
  | { readonly id: number; readonly ok: false; readonly message: string; readonly code?: string; readonly unreachable: boolean }

export type SyncResult = Extract<SyncReply, { ok: true }>
