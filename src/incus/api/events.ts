/**
 * @module incus/api/events
 * The `/1.0/events?type=lifecycle` websocket (§5), over the same transport as the REST client. Reconnects
 * with capped, jittered exponential backoff; treats 30 s without a ping or message as a dead connection (as
 * the Go client does since 6ad6b511); reports each (re)connection so the source can resync in full, since
 * events missed while away are never replayed. Each (re)connection goes to the member in use then: a stream
 * that fails tells the client, which may move to another member of the cluster (members.ts).
 */
import { connect } from 'node:net'
import WebSocket from 'ws'
import type { Event } from './types.ts'
import type { Scope } from './client.ts'
import { scopeQuery } from './client.ts'
import { describe, explainConnectError, tlsOptions } from './connection.ts'
import type { IncusConnection } from './connection.ts'

/** Lifecycle actions that can change an instance's names or addresses (§5.4); the rest is noise for DNS. */
export const DNS_ACTIONS: ReadonlySet<string> = new Set([
  'instance-created', 'instance-started', 'instance-stopped', 'instance-shutdown', 'instance-restarted',
  'instance-renamed', 'instance-deleted', 'instance-updated', 'instance-paused', 'instance-resumed',
  'instance-ready', 'instance-agent-started', 'instance-agent-stopped', 'instance-migrated', 'instance-restored',
])

/**
 * Lifecycle actions of managed networks: a bridge made, changed (its subnet), renamed or deleted changes the
 * reverse zones served and the views, which a full sync reads.
 */
export const NETWORK_ACTIONS: ReadonlySet<string> = new Set(['network-created', 'network-updated', 'network-renamed', 'network-deleted'])

export interface EventHandlers {
  connected(): void
  event(e: Event): void
  /** The stream failed or closed; `retryInMs` until the next attempt. */
  disconnected(reason: string, retryInMs: number): void
  /** A message that is not a JSON event. */
  malformed(text: string): void
}

export interface EventStreamOptions {
  /** Where to connect now (the cluster member in use). */
  readonly connection: () => IncusConnection
  /** The stream to this member failed; true when another member is to be used (reconnect at once). */
  readonly memberFailed?: (url: string, reason: string) => boolean
  readonly scope: Scope
  readonly handlers: EventHandlers
  readonly minBackoffMs?: number
  readonly maxBackoffMs?: number
  /** No ping or message for this long: the connection is dead (§5.2). */
  readonly deadAfterMs?: number
}

export class EventStream {
  readonly #opts: EventStreamOptions
  #ws: WebSocket | null = null
  #attempt = 0
  #timer: NodeJS.Timeout | null = null
  #watchdog: NodeJS.Timeout | null = null
  #stopped = false
  connected = false
  reconnects = 0

  constructor(opts: EventStreamOptions) {
    this.#opts = opts
  }

  start(): void {
    this.#connect()
  }

  stop(): void {
    this.#stopped = true
    if (this.#timer !== null) clearTimeout(this.#timer)
    if (this.#watchdog !== null) clearTimeout(this.#watchdog)
    this.#ws?.terminate()
  }

  #url(c: IncusConnection): string {
    const query = `type=lifecycle&${scopeQuery(this.#opts.scope)}`
    // Over a unix socket the path goes as an option, not in the URL: a '#', a space or a ':' in it broke ws+unix URLs.
    if (c.kind === 'unix') return `ws://incus/1.0/events?${query}`
    return `${c.url.replace(/^https:/, 'wss:').replace(/\/$/, '')}/1.0/events?${query}`
  }

  #connect(): void {
    if (this.#stopped) return
    const c = this.#opts.connection()
    const ws = new WebSocket(this.#url(c), c.kind === 'https' ? { ...tlsOptions(c), handshakeTimeout: 10_000 } : { createConnection: () => connect(c.socketPath), handshakeTimeout: 10_000 })
    this.#ws = ws
    let failed = false
    const fail = (reason: string): void => {
      if (failed) return
      failed = true
      this.connected = false
      if (this.#watchdog !== null) clearTimeout(this.#watchdog)
      ws.terminate()
      if (this.#stopped) return
      // Another member may take over: the first try there is at once (the backoff starts again).
      if (c.kind === 'https' && this.#opts.memberFailed?.(c.url, reason) === true) this.#attempt = 0
      const delay = this.#backoff()
      this.#opts.handlers.disconnected(reason, delay)
      this.#timer = setTimeout(() => { this.reconnects++; this.#connect() }, delay)
    }
    ws.on('open', () => {
      this.#attempt = 0
      this.connected = true
      this.#feedWatchdog(ws, fail)
      this.#opts.handlers.connected()
    })
    ws.on('ping', () => this.#feedWatchdog(ws, fail))
    ws.on('message', (data, isBinary) => {
      this.#feedWatchdog(ws, fail)
      const text = isBinary ? '' : data.toString()
      let event: Event
      try {
        event = JSON.parse(text) as Event
      } catch {
        this.#opts.handlers.malformed(text.slice(0, 200))
        return
      }
      if (typeof event !== 'object' || event === null || typeof event.metadata !== 'object' || event.metadata === null) {
        this.#opts.handlers.malformed(text.slice(0, 200))
        return
      }
      this.#opts.handlers.event(event)
    })
    ws.on('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (d: Buffer) => { body += d.toString() })
      res.on('end', () => {
        let message = body.trim()
        try { message = (JSON.parse(body) as { error?: string }).error ?? message } catch { /* keep the text */ }
        fail(`event stream refused by Incus at ${describe(c)}: ${res.statusCode ?? '?'} ${message}`)
      })
      res.on('error', () => fail(`event stream refused by Incus at ${describe(c)}: ${res.statusCode ?? '?'}`))
    })
    ws.on('error', (err) => fail(explainConnectError(c, err)))
    ws.on('close', (code) => fail(`event stream closed (${code})`))
  }

  #feedWatchdog(ws: WebSocket, fail: (reason: string) => void): void {
    if (this.#watchdog !== null) clearTimeout(this.#watchdog)
    const deadAfter = this.#opts.deadAfterMs ?? 30_000
    this.#watchdog = setTimeout(() => { if (this.#ws === ws) fail(`no ping or event for ${deadAfter} ms; the connection is dead`) }, deadAfter)
    this.#watchdog.unref()
  }

  /** Full jitter (0.5-1.0 of the exponential step), capped. */
  #backoff(): number {
    const min = this.#opts.minBackoffMs ?? 250
    const max = this.#opts.maxBackoffMs ?? 30_000
    const step = Math.min(max, min * 2 ** this.#attempt++)
    return Math.round(step * (0.5 + Math.random() * 0.5))
  }
}

/** `metadata.name`/`project` when present (instance events), else parsed from `source` (§0.4). */
export function nameAndProject(e: Event): { name: string; project: string } | null {
  const md = e.metadata
  if (typeof md.name === 'string' && md.name !== '') return { name: md.name, project: md.project ?? e.project ?? 'default' }
  const m = /^\/1\.0\/instances\/([^/?]+)(?:\?project=([^&]+))?$/.exec(md.source ?? '')
  if (m === null) return null
  return { name: decodeURIComponent(m[1] as string), project: m[2] !== undefined ? decodeURIComponent(m[2]) : 'default' }
}
