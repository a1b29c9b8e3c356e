/**
 * @module incus/source
 * Keeps the zone live from Incus: a full sync at start, after an event-stream (re)connection (at most once a
 * poll interval: a flapping stream must not list every instance at each flap) and every poll interval,
 * reconciled by difference; on each lifecycle event, a re-read of that one instance (events are hints, not a
 * log: they arrive out of order and are never replayed, §0.2); an instance that is live but has no address yet
 * is polled with backoff, since no event says when it gets one (§0.1). Re-reads and polls share the process's
 * request budget (fetch-queue.ts). Errors keep the last good records: nothing is removed because Incus failed
 * to answer, nor because one instance could not be read.
 */
import type { Logger } from 'pino'
import type { Histogram } from '../histogram.ts'
import type { ZoneWriter } from '../zone/zone-writer.ts'
import type { Name } from '../zone/types.ts'
import { AddressWatcher, DEFAULT_ADDRESS_POLL } from './address-watch.ts'
import type { AddressPollTiming } from './address-watch.ts'
import type { Network } from './api/types.ts'
import type { CaddyProxy } from './naming/caddy.ts'
import type { IncusClient, Scope } from './api/client.ts'
import { ClusterState } from './api/cluster.ts'
import { describe } from './api/connection.ts'
import { FaultLog } from './fault-log.ts'
import { FetchQueue } from './fetch-queue.ts'
import { InstanceKeys } from './naming/keys.ts'
import { networkFamilies } from './naming/instance-addresses.ts'
import type { MapSettings, Mapped } from './naming/map.ts'
import type { NetworkFamilies } from './naming/instance-addresses.ts'
import { PublishLag } from './lag.ts'
import type { LagVia } from './lag.ts'
import { mapWithLeases } from './leases.ts'
import { InstanceReader } from './instance-reader.ts'
import { Lifecycle } from './lifecycle.ts'
import { Publisher, sameMapped } from './publisher.ts'
import { RequestBudget } from './request-budget.ts'
import { SyncReader } from './sync-reader.ts'
import type { InstanceRecords } from './naming/records.ts'
import type { RecordSettings } from './naming/records.ts'
import { recordEvents } from './naming/remotes-records.ts'
import type { SharedRecords } from './naming/remotes-records.ts'
import { loadState, StateSaver } from './state-file.ts'
import { UnreadableInstances } from './unreadable.ts'
import { ViewRecords } from './naming/view-records.ts'
import { ViewResolver } from './view-resolver.ts'
import { OwnZones, wantedReverseZones } from './naming/zones.ts'
import type { ReverseSetting } from './naming/zones.ts'
import type { ViewHost } from './view-resolver.ts'

export type { ReverseSetting }

/** Requests about single instances per second, when no budget is given (INCUS_DNS_INCUS_REQUEST_RATE's default). */
export const DEFAULT_REQUEST_RATE = 50

export interface IncusSourceOptions {
  readonly client: IncusClient
  readonly scope: Scope
  readonly zone: ZoneWriter
  readonly log: Logger
  readonly map: MapSettings
  readonly records: RecordSettings
  readonly pollIntervalMs: number
  readonly reverse: ReverseSetting
  /** Polling a started instance until its addresses are all there (address-watch.ts; tests shorten it). */
  readonly addressPoll?: Partial<AddressPollTiming>
  /** Event-stream reconnect backoff (tests shorten it). */
  readonly eventBackoff?: { readonly minMs: number; readonly maxMs: number }
  /** Warm restart: where the last synced instances are kept; null: nowhere. */
  readonly stateFile?: string | null
  /** Split horizon: the configured views and who runs them; absent: one view, written to `zone`. */
  readonly viewHost?: ViewHost | null
  /** Called after a sync that changed the zone in bulk (the first one, or BULK_SYNC instances or more). */
  readonly onBulkSync?: () => void
  /** One of several servers in one zone (INCUS_DNS_INCUS_REMOTES): the records they share, and this one's name. */
  readonly shared?: SharedRecords | null
  /** The process's budget for requests about single instances (shared by every remote); absent: one of its own. */
  readonly budget?: RequestBudget
}

/** Changed instances from which a sync counts as a bulk change (cli/heap.ts collects garbage after one). */
const BULK_SYNC = 1000

export interface IncusStats {
  /** Lag from an Incus change to its name being published, by how it was learnt: counts per bucket (+Inf last). */
  readonly lag: Record<LagVia, Histogram>
  syncs: number
  syncErrors: number
  lastSyncAt: number
  /** The last successful full sync: how long it took (ms), and the bytes it read from Incus. */
  lastSyncMs: number
  lastSyncBytes: number
  events: number
  malformedEvents: number
  refreshErrors: number
  /** Requests sent to Incus by kind: listing, networks, leases, server, members (from the client and the sync thread). */
  readonly requests: Record<string, number>
}

export class IncusSource {
  /** True once the first full sync has succeeded (readiness). */
  ready = false
  readonly #lag = new PublishLag()
  readonly stats: IncusStats = {
    lag: this.#lag.histograms, syncs: 0, syncErrors: 0, lastSyncAt: 0, lastSyncMs: 0, lastSyncBytes: 0, events: 0, malformedEvents: 0, refreshErrors: 0, requests: {},
  }
  /** The default view's records (the status page, /zone and the state file read them). */
  readonly records: InstanceRecords
  /** Every view's records; only the default view's without INCUS_DNS_VIEWS. */
  readonly viewRecords: ViewRecords
  /** Where the default view's instance records go. */
  readonly #defaultZone: ZoneWriter
  readonly #o: IncusSourceOptions
  /** Instance keys: `<remote>:` before them when several remotes share the records. */
  readonly #keys: InstanceKeys
  readonly #log: Logger
  readonly #lifecycle: Lifecycle
  readonly #publisher: Publisher
  /** Instances waiting to be read one by one, within the request budget. */
  readonly #fetches: FetchQueue
  readonly #faults: FaultLog
  /** Instances Incus sent that do not fit the shape incus-dns reads: their last good records stay. */
  readonly unreadable: UnreadableInstances
  /** Reads one instance after its event or for the address watch. */
  readonly #instanceReader: InstanceReader
  /** Resolves the configured views at each sync (view-resolver.ts). */
  readonly #viewResolver: ViewResolver
  /** Reads full syncs off the answering thread (sync-reader.ts). */
  readonly #reader: SyncReader
  /** Keys set between syncs (events): the sync thread is told to send them again. */
  readonly #dirty = new Set<string>()
  readonly #addresses: AddressWatcher
  /** The managed networks as of the last full sync (or the state file), and their address families. */
  #networksSeen: readonly Network[] = []
  #families: NetworkFamilies = new Map()
  readonly #ownZones: OwnZones
  #pollTimer: NodeJS.Timeout | null = null
  #sync: Promise<void> | null = null
  #syncAgain = false
  /** When the last full sync started (performance.now()). */
  #lastSyncStart = -Infinity
  #failing: string | null = null
  #stopped = false
  /** Resolved after each full sync attempt, for tests and start-up. */
  #syncWaiters: (() => void)[] = []
  readonly #saver: StateSaver | null
  /** Answering from the state file, not yet from Incus. */
  restored = false
  /** The cluster's members, the one in use, and the instances held while their member is offline. */
  readonly cluster: ClusterState

  constructor(options: IncusSourceOptions) {
    this.#o = options
    this.#log = options.log.child({ mod: 'incus' })
    this.#keys = new InstanceKeys(options.shared?.remote ?? null)
    this.viewRecords = options.shared?.viewRecords ?? new ViewRecords(options.records, recordEvents(this.#log))
    this.records = this.viewRecords.default
    this.cluster = new ClusterState(options.client, this.#log)
    this.#viewResolver = new ViewResolver(options.viewHost ?? null, this.viewRecords, this.#log)
    this.#reader = new SyncReader({ connection: options.client.connection, scope: options.scope, map: { ...options.map, states: [...options.map.states] }, remote: options.shared?.remote ?? null })
    this.#defaultZone = options.viewHost?.defaultZone ?? options.zone
    const file = options.stateFile
    this.#saver = file === undefined || file === null ? null
      : new StateSaver(file, () => ({ reverseZones: this.records.reverseZones, instances: this.#mine().map(([, m]) => m), networks: this.#networksSeen }), this.#log)
    this.#ownZones = new OwnZones(options.zone, options.map.suffix, options.records.ttl, this.#log)
    // The suffix zone from the start: names in it (an ACME challenge put back after a restart) need it before the first sync.
    this.#ownZones.ensure([])
    this.#faults = new FaultLog(this.#log)
    this.unreadable = new UnreadableInstances(this.#log)
    this.#instanceReader = new InstanceReader({
      client: options.client, log: this.#log, faults: this.#faults, cluster: this.cluster, unreadable: this.unreadable,
      split: (k) => this.#keys.split(k),
      // Keyed as this server keys them, with the lease fallback of leases.ts.
      map: async (inst, leases) => this.#keys.keyed(await mapWithLeases(inst, this.#o.map, this.#families, leases)),
      read: (k, mapped) => {
        this.#publisher.queue(new Map([[k, mapped]]))
        this.#dirty.add(k) // set outside a sync: the sync thread sends it again next time
      },
      failed: () => { this.stats.refreshErrors++ },
      stopped: () => this.#stopped,
    })
    this.#fetches = new FetchQueue({
      budget: options.budget ?? new RequestBudget(DEFAULT_REQUEST_RATE),
      fetch: (k, why) => this.#instanceReader.read(k, why),
      list: () => void this.sync(),
      listing: () => this.#sync !== null,
      // A listing in place of GETs takes at most a fifth of the time: at 10k instances one took 0.55-0.72 s.
      listingGap: () => Math.max(1000, 5 * this.stats.lastSyncMs),
    })
    this.#addresses = new AddressWatcher({
      timing: { ...DEFAULT_ADDRESS_POLL, ...options.addressPoll },
      log: this.#log,
      poll: (k, done) => this.#fetches.ask(k, 'address', done),
      current: (k) => this.records.instances.get(k),
    })
    this.#publisher = new Publisher({ viewRecords: this.viewRecords, zone: this.#defaultZone, log: this.#log, lag: this.#lag, addresses: this.#addresses, applied: () => this.#scheduleSave() })
    this.#lifecycle = new Lifecycle({
      client: options.client, scope: options.scope, log: this.#log, faults: this.#faults, pollIntervalMs: options.pollIntervalMs, backoff: options.eventBackoff,
      key: (project, name) => this.#keys.key(project, name),
      changed: (k, at, also) => {
        this.#addresses.reset(k)
        this.#lag.pending(k, at, 'event')
        for (const a of also) this.#fetches.ask(a, 'event')
        this.#fetches.ask(k, 'event')
      },
      resync: () => void this.sync(),
      lastSyncStart: () => this.#lastSyncStart,
      counts: this.stats,
    })
  }

  get eventsConnected(): boolean { return this.#lifecycle.connected }
  /** Where Caddy runs (INCUS_DNS_CADDY_PROXY): the names it routes answer with it; null when not set. */
  get caddyProxy(): CaddyProxy | null { return this.#o.records.caddyProxy ?? null }
  /** How often a full sync runs (ms). */
  get pollIntervalMs(): number { return this.#o.pollIntervalMs }
  /** The REST client (the cluster member in use, for the status page and tests). */
  get client(): IncusClient { return this.#o.client }
  get reconnects(): number { return this.#lifecycle.reconnects }
  /** The address watch: how many instances it polls, and whether one's watch gave up. */
  get addressWatch(): AddressWatcher { return this.#addresses }
  /** GETs of single instances sent, by why, and listings made in their place. */
  get fetched(): Readonly<{ event: number; address: number; listings: number }> { return this.#fetches.sent }
  /** Instances waiting to be read one by one. */
  get waitingToRead(): number { return this.#fetches.waiting }

  start(): void {
    void this.#restore().then(() => {
      if (this.#stopped) return
      this.#lifecycle.start()
      void this.sync()
    })
  }

  /** Stops syncing; writes the state file one last time when there is one. */
  async stop(): Promise<void> {
    this.#stopped = true
    this.#lifecycle.stop()
    if (this.#pollTimer !== null) clearTimeout(this.#pollTimer)
    this.#addresses.stop()
    this.#fetches.stop()
    await this.#reader.close()
    await this.#saver?.flush()
  }

  /** Warm restart: serve the saved instances until the first sync replaces them. */
  async #restore(): Promise<void> {
    const path = this.#saver?.path
    if (path === undefined) return
    try {
      const state = await loadState(path)
      if (state === null) return
      this.#applyZones(new Set(state.reverseZones))
      // The views as at the last sync (a file from before views were saved: address ranges only).
      this.#networksSeen = state.networks ?? []
      this.#viewResolver.apply(this.#networksSeen, state.networks !== undefined)
      this.#publisher.queue(new Map(state.instances.map((m) => [m.key, m])))
      this.#publisher.flush()
      this.restored = true
      this.#log.info({ file: path, instances: state.instances.length, savedAt: state.savedAt }, 'answering from the state file until Incus answers')
    } catch (err) {
      this.#log.warn({ file: path, err: (err as Error).message }, 'state file not usable; starting empty')
    }
  }

  /** Only what a sync confirmed is saved: the state file never holds less than Incus last said. */
  #scheduleSave(): void {
    if (this.ready) this.#saver?.schedule()
  }

  /**
   * Settles every instance's names again: the zone files changed (a reload), so the names they hold, and their
   * apexes, may have changed hands (naming/name-rules.ts).
   */
  resettle(): void {
    this.#publisher.queue(new Map(this.#mine()))
  }

  /** Waits for the next full sync attempt to finish (success or failure). */
  nextSync(): Promise<void> {
    return new Promise((resolve) => this.#syncWaiters.push(resolve))
  }

  /** A full sync; concurrent calls share one run, and a call during a run makes one more run after it. */
  sync(): Promise<void> {
    if (this.#sync !== null) { this.#syncAgain = true; return this.#sync }
    this.#sync = (async () => {
      do {
        this.#syncAgain = false
        await this.#fullSync()
      } while (this.#syncAgain && !this.#stopped)
      this.#sync = null
      if (this.#stopped) return
      if (this.#pollTimer !== null) clearTimeout(this.#pollTimer)
      // After a failure, retry sooner than the poll interval (but never in a tight loop).
      const delay = this.#failing === null ? this.#o.pollIntervalMs : Math.min(this.#o.pollIntervalMs, 2000)
      this.#pollTimer = setTimeout(() => void this.sync(), delay)
      this.#pollTimer.unref()
    })()
    return this.#sync
  }

  async #fullSync(): Promise<void> {
    const { client } = this.#o
    const started = performance.now()
    this.#lastSyncStart = started
    const bytesBefore = client.bytesRead
    let ok = false
    try {
      await this.cluster.refresh(await client.server())
      // The listing, its parse and the mapping happen in the sync thread; only changes come back.
      const read = await this.#reader.readFrom(client, this.#takeDirty())
      // Reading the reply took this turn (one structured clone: ~30 ms at 10k instances); the zones get the next.
      await nextTurn()
      if (this.#stopped) return
      const networks = read.networks
      this.#families = networkFamilies(networks)
      this.#networksSeen = networks
      this.#applyZones(wantedReverseZones(this.#o.reverse, networks))
      this.#viewResolver.apply(networks)
      await nextTurn() // new zones are made and signed in this one; the instances' changes come next
      if (this.#stopped) return
      // An Error stub (offline cluster member, §4.1) says nothing about the instance: keep what we had.
      const stubs = new Set<string>()
      for (const [k, location] of read.stubs) { this.cluster.hold(k, location); stubs.add(k) }
      for (const k of [...this.cluster.held.keys()]) if (!stubs.has(k) && this.#keys.owns(k)) this.cluster.release(k)
      // Instances re-read while the listing was on its way (after an event, by the address watch) are as new as
      // it or newer: they keep what the re-read gave, and stay dirty so that the next sync's thread sends them
      // again. Else one launched during a listing was published by its event, then removed by the listing
      // that did not have it yet, until the next sync.
      const reread = this.#dirty
      const changes = new Map<string, Mapped | null>()
      for (const m of read.changed) {
        if (reread.has(m.key)) continue
        const prev = this.records.instances.get(m.key)
        if (prev === undefined || !sameMapped(prev, m)) changes.set(m.key, m)
      }
      const seen = new Set(read.seen)
      for (const [k] of this.#mine()) if (!seen.has(k) && !reread.has(k)) changes.set(k, null)
      this.unreadable.replace(read.unreadable)
      addCounts(this.stats.requests, read.requests)
      this.#publisher.queue(changes)
      // Applied a chunk a turn (incus/publisher.ts), answers served between; the sync is done when all is.
      await nextTurn()
      await this.#publisher.drain()
      if (this.#stopped) return
      for (const [k, m] of this.#mine()) if (m.awaitingAddress !== false) this.#addresses.watch(k)
      ok = true
      this.stats.syncs++
      this.stats.lastSyncAt = Date.now()
      this.stats.lastSyncMs = performance.now() - started
      this.stats.lastSyncBytes = client.bytesRead - bytesBefore + read.bytes
      const first = !this.ready
      this.ready = true
      this.restored = false
      this.#scheduleSave()
      if (this.#failing !== null) this.#log.info({ incus: describe(client.connection) }, 'Incus answers again')
      this.#failing = null
      const published = this.#mine().filter(([, m]) => m.skipped === null).length
      if (first || changes.size > 0) {
        this.#log.info({ instances: read.seen.length, published, changed: changes.size, first }, 'Incus sync done')
      }
      if (first) this.#noteCaddyKeys()
      if (first || changes.size >= BULK_SYNC) this.#o.onBulkSync?.()
    } catch (err) {
      // Stopped while this sync was on its way: nothing failed, and nothing is published any more.
      if (this.#stopped) return
      this.stats.syncErrors++
      const message = (err as Error).message
      // Log a failure once, then again only when it changes; the records stay as they were.
      if (this.#failing !== message) this.#log.error({ err: message, code: (err as { code?: string }).code }, 'Incus sync failed; keeping the last good records')
      else this.#log.debug({ err: message }, 'Incus sync failed again')
      this.#failing = message
    } finally {
      addCounts(this.stats.requests, client.takeRequests())
      this.#fetches.listed(started, ok)
      const waiters = this.#syncWaiters
      this.#syncWaiters = []
      for (const w of waiters) w()
    }
  }

  /** Caddy's routing keys on instances while INCUS_DNS_CADDY_PROXY is not set: said once, at the first sync. */
  #noteCaddyKeys(): void {
    if (this.#o.records.caddyProxy !== undefined && this.#o.records.caddyProxy !== null) return
    const routed = this.#mine().filter(([, m]) => m.caddy !== undefined)
    if (routed.length === 0) return
    this.#log.warn({ instances: routed.slice(0, 5).map(([k]) => k), count: routed.length }, 'instances have user.caddyserver.http.* keys, which are ignored: set INCUS_DNS_CADDY_PROXY to where Caddy runs to publish the names it routes')
  }

  /** The keys set between syncs, handed to the sync thread with the next read (and forgotten here). */
  #takeDirty(): string[] {
    const keys = [...this.#dirty]
    this.#dirty.clear()
    return keys
  }


  /**
   * Creates the suffix zone and the reverse zones no zone file defines, tells the records where PTRs go, and
   * drops the reverse zones it made that no network (of any remote) wants any more, once their PTRs are gone.
   */
  #applyZones(wanted: ReadonlySet<Name>): void {
    this.#ownZones.ensure(wanted)
    const shared = this.#o.shared
    const all = shared === undefined || shared === null ? wanted : shared.reverseZones(wanted)
    if (this.viewRecords.setReverseZones(all)) {
      // PTRs move in or out of zones: re-settle every instance's claims (another remote's are settled with
      // them: the records are one).
      this.#publisher.queue(new Map(this.records.instances))
      this.#publisher.flush()
    }
    this.#ownZones.prune(all)
  }

  /** This source's instances among the records (all of them but with several remotes). */
  #mine(): [string, Mapped][] {
    return this.#keys.prefix === '' ? [...this.records.instances] : [...this.records.instances].filter(([k]) => this.#keys.owns(k))
  }
}

/** Adds request counts into `into`. */
function addCounts(into: Record<string, number>, add: Readonly<Record<string, number>>): void {
  for (const [k, n] of Object.entries(add)) into[k] = (into[k] ?? 0) + n
}

/** Resolves in the next event-loop turn, after its I/O: a long sync is cut into turns so that answers go out between. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
