/**
 * @module dns/worker-messages
 * What the main thread and the UDP worker threads (--workers) send each other: a worker's start-up data,
 * table changes and client prefixes one way; bound sockets, passed-on queries and counters the other. A
 * module of their own, so that a worker imports nothing of the module that starts it.
 */
import type { ListenAddress } from '../address.ts'
import type { Histogram } from '../histogram.ts'
import type { CookieMode } from './cookies.ts'
import type { WireChanges } from './replica.ts'
import type { RrlOptions } from './rrl.ts'
import type { DnsStats } from './stats.ts'

export interface WorkerData {
  readonly listen: readonly ListenAddress[]
  /** The identity's id and version (dns/identity.ts), or null for none. */
  readonly identity: { readonly id: string; readonly version: string } | null
  /** The resolvers whose EDNS Client Subnet picks the view (CIDRs). */
  readonly subnetSources: readonly string[]
  /** Response rate limiting's settings (the exempt ranges as CIDRs); null when off. Each thread keeps its own buckets. */
  readonly rrl: (Omit<RrlOptions, 'exempt'> & { readonly exempt: readonly string[] }) | null
  /** DNS cookies: the mode and the secrets (hex); null when off. */
  readonly cookies: { readonly mode: CookieMode; readonly current: string; readonly previous: string | null } | null
}

/** What a worker says of a query it passes on (a Reply's fields the hooks read). */
export interface ReplyInfo {
  readonly key: string
  readonly ednsSize: number
  readonly ednsDo: boolean
  readonly qtype: number
  readonly qend: number
}

export interface StatsSnapshot {
  readonly queriesUdp: number
  readonly truncated: number
  readonly dropped: DnsStats['dropped']
  readonly responses: Float64Array
  readonly cookies: Float64Array
  readonly rrl: Float64Array
  readonly qtypes: readonly [Float64Array, Float64Array]
  readonly latency: Histogram
  /** Queries per view name, when views are configured. */
  readonly views: readonly [string, number][]
}

/** Main thread → worker: a view's table changes (a snapshot when it is new), a view gone, or the client prefixes. */
export type ToWorker =
  /** `signed`: the changes are to the view's signed table (zone/table.ts `signed`), not its plain one. */
  | { readonly kind: 'changes'; readonly view: string; readonly signed?: boolean; readonly changes: WireChanges }
  | { readonly kind: 'drop'; readonly view: string }
  | { readonly kind: 'prefixes'; readonly prefixes: readonly { readonly cidr: string; readonly view: string }[] }
  | { readonly kind: 'cookies'; readonly current: string; readonly previous: string | null }

export type WorkerMessage =
  | { readonly kind: 'bound'; readonly listen: number }
  | { readonly kind: 'forward' | 'handoff'; readonly listen: number; readonly req: Buffer; readonly info: ReplyInfo; readonly refused: Buffer; readonly address: string; readonly port: number }
  | { readonly kind: 'stats'; readonly stats: StatsSnapshot }
