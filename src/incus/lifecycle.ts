/**
 * @module incus/lifecycle
 * Follows Incus's lifecycle events for the source: the event stream to the member in use, which events can
 * change a name or an address (and in which scope), and a full sync after each (re)connection, since events
 * missed while away are never replayed (§5.6). A reconnection's resync runs at once, unless the last
 * reconnection's ran less than a poll interval ago (then one interval after it): a flapping stream must not
 * list every instance at each flap, and the periodic poll comes within the interval anyway. The first
 * connection at start is not a reconnection: the source's first sync is running then. Failures of the stream are logged once until they change.
 */
import type { Logger } from 'pino'
import type { Event } from './api/types.ts'
import type { IncusClient, Scope } from './api/client.ts'
import { describe } from './api/connection.ts'
import { DNS_ACTIONS, EventStream, nameAndProject, NETWORK_ACTIONS } from './api/events.ts'
import type { FaultLog } from './fault-log.ts'

/** After instance-migrated, the instance is read again this long after (ms): its new member and address. */
const MIGRATED_REREADS = [250, 1000]

export interface LifecycleOptions {
  readonly client: IncusClient
  readonly scope: Scope
  readonly log: Logger
  readonly faults: FaultLog
  readonly pollIntervalMs: number
  /** Event-stream reconnect backoff (tests shorten it). */
  readonly backoff?: { readonly minMs: number; readonly maxMs: number }
  /** The instance key of a project and name. */
  readonly key: (project: string, name: string) => string
  /** An event says `key` changed at `at` (ms): read it again (`also` are read too: a rename's old name). */
  readonly changed: (key: string, at: number, also: readonly string[]) => void
  /** A full sync. */
  readonly resync: () => void
  /** When the last full sync started (performance.now()), periodic or not. */
  readonly lastSyncStart: () => number
  /** Where events, and messages that are not events, are counted. */
  readonly counts: { events: number; malformedEvents: number }
}

export class Lifecycle {
  readonly #o: LifecycleOptions
  readonly #stream: EventStream
  #lastError: string | null = null
  /** When the last reconnection resynced (Date.now()), and a resync put off until one interval after it. */
  #resyncAt = -Infinity
  #connectedOnce = false
  #timer: NodeJS.Timeout | null = null
  #stopped = false

  constructor(options: LifecycleOptions) {
    this.#o = options
    const { client, log } = options
    this.#stream = new EventStream({
      connection: () => client.connection,
      memberFailed: (url, reason) => client.memberFailed(url, reason),
      scope: options.scope,
      minBackoffMs: options.backoff?.minMs,
      maxBackoffMs: options.backoff?.maxMs,
      handlers: {
        connected: () => this.#connected(),
        event: (e) => this.#event(e),
        disconnected: (reason, retryInMs) => {
          // The same failure again (Incus stays down) is not news: log it once, then at debug.
          if (reason === this.#lastError) log.debug({ reason, retryInMs }, 'event stream still down')
          else log.warn({ reason, retryInMs }, 'event stream down; reconnecting')
          this.#lastError = reason
        },
        malformed: (text) => { options.counts.malformedEvents++; options.faults.warn('malformed-event', { text: text.slice(0, 200) }, 'event stream sent a message that is not an event') },
      },
    })
  }

  get connected(): boolean { return this.#stream.connected }
  get reconnects(): number { return this.#stream.reconnects }

  start(): void { this.#stream.start() }

  stop(): void {
    this.#stopped = true
    this.#stream.stop()
    if (this.#timer !== null) clearTimeout(this.#timer)
  }

  #connected(): void {
    this.#lastError = null
    if (!this.#connectedOnce) {
      this.#connectedOnce = true
      this.#o.log.info({ incus: describe(this.#o.client.connection) }, 'event stream connected; resyncing')
      this.#o.resync() // joins the first sync (or runs once more after it: events before the stream was up)
      return
    }
    const due = this.#resyncAt + this.#o.pollIntervalMs - Date.now()
    if (due <= 0) {
      this.#resyncAt = Date.now()
      this.#o.log.info({ incus: describe(this.#o.client.connection) }, 'event stream connected; resyncing')
      this.#o.resync()
      return
    }
    this.#o.log.debug({ inMs: due }, 'event stream connected again; resyncing one poll interval after the last reconnection')
    if (this.#timer !== null) return
    const asked = performance.now()
    this.#timer = setTimeout(() => {
      this.#timer = null
      // A sync since (the periodic poll) covered what was missed.
      if (this.#stopped || this.#o.lastSyncStart() > asked) return
      this.#resyncAt = Date.now()
      this.#o.resync()
    }, due)
    this.#timer.unref()
  }

  #event(e: Event): void {
    this.#o.counts.events++
    if (e.type !== 'lifecycle') return
    const action = e.metadata.action ?? ''
    if (NETWORK_ACTIONS.has(action)) {
      // Its reverse zones and the views come from the networks: a full sync reads them now, not at the next poll.
      this.#o.log.debug({ action, network: e.metadata.name ?? e.metadata.source }, 'network lifecycle event; resyncing')
      this.#o.resync()
      return
    }
    if (!DNS_ACTIONS.has(action)) return
    const where = nameAndProject(e)
    if (where === null) return
    const { name, project } = where
    const scope = this.#o.scope
    if (scope !== 'all' && scope.project !== project) return
    const k = this.#o.key(project, name)
    this.#o.log.debug({ action, instance: k }, 'lifecycle event')
    const at = Date.parse(e.timestamp)
    const old = e.metadata.context?.old_name
    // Whatever the action, Incus is asked for the instance as it is now: deleted gives 404, which removes it.
    this.#o.changed(k, Number.isNaN(at) ? Date.now() : Math.min(at, Date.now()), action === 'instance-renamed' && typeof old === 'string' ? [this.#o.key(project, old)] : [])
    // A move between cluster members can be announced before the database names the new member: read again.
    if (action === 'instance-migrated') {
      for (const ms of MIGRATED_REREADS) setTimeout(() => { if (!this.#stopped) this.#o.changed(k, Date.now(), []) }, ms).unref()
    }
  }
}
