/**
 * @module incus/source
 * Keeps the zone live from Incus: a full sync at start, after every event-stream (re)connection and every
 * poll interval, reconciled by difference; on each lifecycle event, a re-fetch of that one instance (events
 * are hints, not a log: they arrive out of order and are never replayed, §0.2); an instance that is live but
 * has no address yet is polled with backoff, since no event says when it gets one (§0.1). Errors keep the
 * last good records: nothing is removed because Incus failed to answer.
 */
import type { Logger } from 'pino'
import type { Histogram } from '../histogram.ts'
import type { ZoneWriter } from '../zone/store.ts'
import type { Name } from '../zone/types.ts'
import { AddressWatcher, DEFAULT_ADDRESS_POLL } from './address-watch.ts'
import type { AddressPollTiming } from './address-watch.ts'
import type { Event, Instance, Network } from './api.ts'
import type { IncusClient, Scope } from './client.ts'
import { ClusterState, isErrorStub } from './cluster.ts'
import { PerKey } from './coalesce.ts'
import { describe } from './connection.ts'
import { DNS_ACTIONS, EventStream, nameAndProject } from './events.ts'
import { InstanceKeys } from './keys.ts'
import { networkFamilies } from './map.ts'
import type { MapSettings, Mapped, NetworkFamilies } from './map.ts'
import { PublishLag } from './lag.ts'
import type { LagVia } from './lag.ts'
import { LeaseCache, mapWithLeases } from './leases.ts'
import { SyncReader } from './sync-reader.ts'
import type { InstanceRecords } from './records.ts'
import type { RecordSettings } from './records.ts'
import { recordEvents } from './shared.ts'
import type { SharedRecords } from './shared.ts'
import { loadState, StateSaver } from './state-file.ts'
import { ViewRecords, ViewResolver } from './views.ts'
import { OwnZones, wantedReverseZones } from './zones.ts'
import type { ReverseSetting } from './zones.ts'
import type { ViewHost } from './views.ts'

export type { ReverseSetting }

/** After instance-migrated, the instance is read again this long after (ms): its new member and address. */
const MIGRATED_REREADS = [250, 1000]

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
  readonly views?: ViewHost | null
  /** Called after a sync that changed the zone in bulk (the first one, or BULK_SYNC instances or more). */
  readonly onBulkSync?: () => void
  /** One of several servers in one zone (INCUS_DNS_INCUS_REMOTES): the records they share, and this one's name. */
  readonly shared?: SharedRecords | null
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
}

export class IncusSource {
  /** True once the first full sync has succeeded (readiness). */
  ready = false
  readonly #lag = new PublishLag()
  readonly stats: IncusStats = {
    lag: this.#lag.histograms, syncs: 0, syncErrors: 0, lastSyncAt: 0, lastSyncMs: 0, lastSyncBytes: 0, events: 0, malformedEvents: 0, refreshErrors: 0,
  }
  /** The default view's records (the status page, /zone and the state file read them). */
  readonly records: InstanceRecords
  /** Every view's records; only the default view's without INCUS_DNS_VIEWS. */
  readonly views: ViewRecords
  /** Where the default view's instance records go. */
  readonly #defaultZone: ZoneWriter
  readonly #o: IncusSourceOptions
  /** Instance keys: `<remote>:` before them when several remotes share the records. */
  readonly #keys: InstanceKeys
  readonly #log: Logger
  readonly #events: EventStream
  readonly #pending = new Map<string, Mapped | null>()
  #flushScheduled = false
  readonly #refreshing = new PerKey()
  /** Resolves the configured views at each sync (views.ts). */
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
  #failing: string | null = null
  #stopped = false
  /** Resolved after each full sync attempt, for tests and start-up. */
  #syncWaiters: (() => void)[] = []
  readonly #saver: StateSaver | null
  #lastStreamError: string | null = null
  /** Answering from the state file, not yet from Incus. */
  restored = false
  /** The cluster's members, the one in use, and the instances held while their member is offline. */
  readonly cluster: ClusterState

  constructor(options: IncusSourceOptions) {
    this.#o = options
    this.#log = options.log.child({ mod: 'incus' })
    this.#keys = new InstanceKeys(options.shared?.remote ?? null)
    this.views = options.shared?.views ?? new ViewRecords(options.records, recordEvents(this.#log))
    this.records = this.views.default
    this.cluster = new ClusterState(options.client, this.#log)
    this.#viewResolver = new ViewResolver(options.views ?? null, this.views, this.#log)
    this.#reader = new SyncReader({ connection: options.client.connection, scope: options.scope, map: { ...options.map, states: [...options.map.states] }, remote: options.shared?.remote ?? null })
    this.#defaultZone = options.views?.defaultZone ?? options.zone
    const file = options.stateFile
    this.#saver = file === undefined || file === null ? null
      : new StateSaver(file, () => ({ reverseZones: this.records.reverseZones, instances: this.#mine().map(([, m]) => m), networks: this.#networksSeen }), this.#log)
    this.#ownZones = new OwnZones(options.zone, options.map.suffix, options.records.ttl, this.#log)
    this.#addresses = new AddressWatcher({
      timing: { ...DEFAULT_ADDRESS_POLL, ...options.addressPoll },
      log: this.#log,
      refresh: (k) => { const [project, name] = this.#keys.split(k); return this.refresh(project, name) },
      current: (k) => this.records.instances.get(k),
    })
    this.#events = new EventStream({
      connection: () => options.client.connection,
      memberFailed: (url, reason) => options.client.memberFailed(url, reason),
      scope: options.scope,
      minBackoffMs: options.eventBackoff?.minMs,
      maxBackoffMs: options.eventBackoff?.maxMs,
      handlers: {
        connected: () => {
          this.#lastStreamError = null
          this.#log.info({ incus: describe(options.client.connection) }, 'event stream connected; resyncing')
          void this.sync()
        },
        event: (e) => this.#onEvent(e),
        disconnected: (reason, retryInMs) => {
          // The same failure again (Incus stays down) is not news: log it once, then at debug.
          if (reason === this.#lastStreamError) this.#log.debug({ reason, retryInMs }, 'event stream still down')
          else this.#log.warn({ reason, retryInMs }, 'event stream down; reconnecting')
          this.#lastStreamError = reason
        },
        malformed: (text) => { this.stats.malformedEvents++; this.#log.warn({ text }, 'event stream sent a message that is not an event') },
      },
    })
  }

  get eventsConnected(): boolean { return this.#events.connected }
  /** The REST client (the cluster member in use, for the status page and tests). */
  get client(): IncusClient { return this.#o.client }
  get reconnects(): number { return this.#events.reconnects }

  start(): void {
    void this.#restore().then(() => {
      if (this.#stopped) return
      this.#events.start()
      void this.sync()
    })
  }

  /** Stops syncing; writes the state file one last time when there is one. */
  async stop(): Promise<void> {
    this.#stopped = true
    this.#events.stop()
    if (this.#pollTimer !== null) clearTimeout(this.#pollTimer)
    this.#addresses.stop()
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
      this.#queue(new Map(state.instances.map((m) => [m.key, m])))
      this.#flush()
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
   * apexes, may have changed hands (name-rules.ts).
   */
  resettle(): void {
    this.#queue(new Map(this.#mine()))
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
    const bytesBefore = client.bytesRead
    try {
      await this.cluster.refresh(await client.server())
      // The listing, its parse and the mapping happen in the sync thread; only changes come back.
      const read = await this.#reader.readFrom(client, this.#takeDirty())
      const networks = read.networks
      this.#families = networkFamilies(networks)
      this.#networksSeen = networks
      this.#applyZones(wantedReverseZones(this.#o.reverse, networks))
      this.#viewResolver.apply(networks)
      // An Error stub (offline cluster member, §4.1) says nothing about the instance: keep what we had.
      const stubs = new Set<string>()
      for (const [k, location] of read.stubs) { this.cluster.hold(k, location); stubs.add(k) }
      for (const k of [...this.cluster.held.keys()]) if (!stubs.has(k) && this.#keys.owns(k)) this.cluster.release(k)
      const changes = new Map<string, Mapped | null>()
      for (const m of read.changed) {
        const prev = this.records.instances.get(m.key)
        if (prev === undefined || !sameMapped(prev, m)) changes.set(m.key, m)
      }
      const seen = new Set(read.seen)
      for (const [k] of this.#mine()) if (!seen.has(k)) changes.set(k, null)
      this.#queue(changes)
      this.#flush()
      for (const [k, m] of this.#mine()) if (m.awaitingAddress !== false) this.#addresses.watch(k)
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
      if (first || changes.size >= BULK_SYNC) this.#o.onBulkSync?.()
    } catch (err) {
      this.stats.syncErrors++
      const message = (err as Error).message
      // Log a failure once, then again only when it changes; the records stay as they were.
      if (this.#failing !== message) this.#log.error({ err: message, code: (err as { code?: string }).code }, 'Incus sync failed; keeping the last good records')
      else this.#log.debug({ err: message }, 'Incus sync failed again')
      this.#failing = message
    } finally {
      const waiters = this.#syncWaiters
      this.#syncWaiters = []
      for (const w of waiters) w()
    }
  }

  /** The keys set between syncs, handed to the sync thread with the next read (and forgotten here). */
  #takeDirty(): string[] {
    const keys = [...this.#dirty]
    this.#dirty.clear()
    return keys
  }


  /** Creates the suffix zone and the reverse zones no zone file defines, and tells the records where PTRs go. */
  #applyZones(wanted: ReadonlySet<Name>): void {
    this.#ownZones.ensure(wanted)
    const shared = this.#o.shared
    if (this.views.setReverseZones(shared === undefined || shared === null ? wanted : shared.reverseZones(wanted))) {
      // PTRs move in or out of zones: re-settle every instance's claims (another remote's are settled with
      // them: the records are one).
      this.#queue(new Map(this.records.instances))
    }
  }

  /** This source's instances among the records (all of them but with several remotes). */
  #mine(): [string, Mapped][] {
    return this.#keys.prefix === '' ? [...this.records.instances] : [...this.records.instances].filter(([k]) => this.#keys.owns(k))
  }

  /** Maps an instance (with the lease fallback of leases.ts), keyed as this server keys them. */
  async #map(inst: Instance, leases: LeaseCache): Promise<Mapped> {
    return this.#keys.keyed(await mapWithLeases(inst, this.#o.map, this.#families, leases))
  }

  #onEvent(e: Event): void {
    this.stats.events++
    if (e.type !== 'lifecycle') return
    const action = e.metadata.action ?? ''
    if (!DNS_ACTIONS.has(action)) return
    const where = nameAndProject(e)
    if (where === null) return
    const { name, project } = where
    if (this.#o.scope !== 'all' && this.#o.scope.project !== project) return
    const k = this.#keys.key(project, name)
    this.#log.debug({ action, instance: k }, 'lifecycle event')
    this.#addresses.reset(k)
    const at = Date.parse(e.timestamp)
    this.#lag.pending(k, Number.isNaN(at) ? Date.now() : Math.min(at, Date.now()), 'event')
    const old = e.metadata.context?.old_name
    if (action === 'instance-renamed' && typeof old === 'string') void this.refresh(project, old)
    // Whatever the action, ask Incus for the instance as it is now: deleted gives 404, which removes it.
    void this.refresh(project, name)
    // A move between cluster members can be announced before the database names the new member: read again.
    if (action === 'instance-migrated') for (const ms of MIGRATED_REREADS) setTimeout(() => { if (!this.#stopped) void this.refresh(project, name) }, ms).unref()
  }

  /** Re-fetches one instance and applies it; coalesces calls for the same instance while one runs. */
  async refresh(project: string, name: string): Promise<Mapped | null | undefined> {
    const k = this.#keys.key(project, name)
    try {
      return await this.#refreshing.run(k, async () => {
        const inst = await this.#o.client.instance(project, name)
        if (inst !== null && isErrorStub(inst)) { this.cluster.hold(k, inst.location); return undefined }
        this.cluster.release(k)
        const result = inst === null ? null : await this.#map(inst, new LeaseCache(this.#o.client, this.#log))
        this.#queue(new Map([[k, result]]))
        this.#dirty.add(k) // set outside a sync: the sync thread sends it again next time
        return result
      }, () => this.#stopped)
    } catch (err) {
      this.stats.refreshErrors++
      this.#log.warn({ instance: k, err: (err as Error).message }, 'could not fetch an instance after its event; the next sync will')
      return undefined
    }
  }

  /** Collects changes; they are applied together at the end of this event-loop turn (one zone batch). */
  #queue(changes: ReadonlyMap<string, Mapped | null>): void {
    for (const [k, m] of changes) this.#pending.set(k, m)
    if (this.#flushScheduled) return
    this.#flushScheduled = true
    setImmediate(() => this.#flush())
  }

  #flush(): void {
    this.#flushScheduled = false
    if (this.#pending.size === 0) return
    const changes = new Map(this.#pending)
    this.#pending.clear()
    for (const [k, m] of changes) {
      const before = this.records.instances.get(k)
      if (m === null) { if (before !== undefined) this.#log.info({ instance: k }, 'instance gone; names removed'); continue }
      if (m.skipped !== null) this.#log.debug({ instance: k, reason: m.skipped }, 'instance publishes no records')
      else if (before === undefined || !sameMapped(before, m)) {
        this.#log.info({ instance: k, name: m.hostname, aliases: m.aliases, ipv4: m.ipv4, ipv6: m.ipv6 }, 'instance published')
      }
      if (m.warning !== undefined && m.warning !== before?.warning) this.#log.warn({ instance: k, problem: m.warning }, 'instance configuration problem')
    }
    const written = new Set(this.views.apply(this.#defaultZone, changes))
    const now = Date.now()
    this.#lag.settled(changes, written, now)
    for (const [k, m] of changes) {
      if (m === null) this.#addresses.forget(k)
      else if (m.awaitingAddress !== false) {
        // Still waiting for an address, and no event will say when it comes: its lag counts from this look.
        this.#lag.looked(k, now)
        this.#addresses.watch(k)
      } else this.#addresses.reset(k)
    }
    this.#scheduleSave()
  }
}

function sameMapped(a: Mapped, b: Mapped): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}
