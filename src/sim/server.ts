/**
 * @module sim/server
 * A simulated Incus daemon for tests and the demo, following shared/incus-api: the response envelope, `/1.0`,
 * `/1.0/instances` (recursion 0/1/2, `project`, `all-projects`), single instances and `/state`, `/1.0/networks`
 * and `/leases`, and the `/1.0/events` websocket, over a unix socket and over HTTPS that trusts only pinned
 * client certificates. Tests script it: launch, stop, rename, delete, change config, move addresses with no
 * event, drop the event stream, answer 500 or garbage, reorder or drop events. As a cluster (§6), each HTTPS
 * listener is a member: /1.0 names it, /1.0/cluster/members lists them all, and one can go away.
 */
import { rmSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { WebSocketServer } from 'ws'
import type WebSocket from 'ws'
import type { Event, Network } from '../incus/api/types.ts'
import { BRIDGES, key, lifecycleEvent, networkEvent, newInstance } from './model.ts'
import type { LaunchSpec, SimInstance, SimMember } from './model.ts'
import { errorBody, route } from './routes.ts'

export type { LaunchSpec, SimInstance, SimMember }

/** What the next API request (or every one) gets instead of its answer. */
export type Fault =
  | { readonly status: number; readonly error: string }
  | 'garbage' // 200 with a body that is not JSON
  | 'truncated' // 200 with JSON cut short

interface Listener {
  readonly ws: WebSocket
  /** null: all projects. */
  readonly project: string | null
  /** The local port it came in on (which cluster member). */
  readonly port: number | undefined
}

const EVENT_TYPES = ['lifecycle', 'logging', 'operation', 'network-acl']

export class SimIncus {
  readonly instances = new Map<string, SimInstance>()
  readonly projects = new Set(['default', 'staging'])
  /** Every API request, as `METHOD path?query`, so tests can count what the client asked. */
  readonly requests: string[] = []
  /** DER bytes of trusted client certificates, for HTTPS (§1.2: byte-identical pinning). */
  readonly trusted: Buffer[] = []
  /** Event delivery quirks of released Incus versions (§5.6). */
  readonly events = { drop: false, duplicate: false, reorder: false }
  /** Entries added to the network list and to every lease list, in shapes Incus never sends (tests of odd input). */
  readonly oddEntries: { networks: unknown[]; leases: unknown[] } = { networks: [], leases: [] }
  /** Managed networks made after the two fixed bridges (`incus network create`). */
  readonly #networks: Network[] = []
  /** Refuse websocket upgrades with this status (e.g. 503 while "starting up"). */
  refuseEvents: number | null = null
  /** Clustered: the members, one per HTTPS listener (listenMember); null: a standalone server. */
  cluster: SimMember[] | null = null
  /** HTTPS listener port → its member name. */
  readonly #memberOf = new Map<number, string>()
  #faults: Fault[] = []
  #always: Fault | null = null
  /**
   * The instance listing is taken when asked but answered this much later: what listing a large fleet takes,
   * while instances come and go (0: at once).
   */
  listingDelayMs = 0
  readonly #listeners = new Set<Listener>()
  readonly #servers: (http.Server | https.Server)[] = []
  readonly #wss = new WebSocketServer({ noServer: true })
  #held: Event[] = []
  #socketPath: string | null = null
  #pinger: NodeJS.Timeout

  constructor() {
    // incusd pings every 10 s with payload "keepalive" (§5.2).
    this.#pinger = setInterval(() => { for (const l of this.#listeners) l.ws.ping('keepalive') }, 10_000)
    this.#pinger.unref()
  }

  // ---- serving ----

  async listenUnix(path: string): Promise<void> {
    rmSync(path, { force: true })
    const server = http.createServer((req, res) => this.#handle(req, res))
    server.on('upgrade', (req, sock, head) => this.#upgrade(req, sock, head))
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(path, () => resolve()) })
    this.#servers.push(server)
    this.#socketPath = path
  }

  /** HTTPS with a server certificate; only clients whose certificate is in `trusted` are trusted. */
  async listenHttps(tls: { key: string | Buffer; cert: string | Buffer }, host = '127.0.0.1', port = 0): Promise<number> {
    const server = https.createServer({ key: tls.key, cert: tls.cert, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' },
      (req, res) => this.#handle(req, res))
    server.on('upgrade', (req, sock, head) => this.#upgrade(req, sock, head))
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, host, () => resolve()) })
    this.#servers.push(server)
    return (server.address() as AddressInfo).port
  }

  /** A cluster member: an HTTPS listener that /1.0 names `name`, listed in /1.0/cluster/members. */
  async listenMember(name: string, tls: { key: string | Buffer; cert: string | Buffer }): Promise<number> {
    const port = await this.listenHttps(tls)
    this.#memberOf.set(port, name)
    this.cluster ??= []
    this.cluster.push({ server_name: name, url: `https://127.0.0.1:${port}`, status: 'Online', message: 'Fully operational' })
    return port
  }

  /** A member's daemon dies: its listener closes with its connections and event streams; the others list it offline. */
  async stopMember(name: string): Promise<void> {
    const port = [...this.#memberOf].find(([, n]) => n === name)?.[0]
    const server = this.#servers.find((s) => (s.address() as AddressInfo | null)?.port === port)
    if (server === undefined) throw new Error(`no member ${name}`)
    for (const l of this.#listeners) if (l.port === port) { l.ws.terminate(); this.#listeners.delete(l) }
    await new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections() })
    this.#servers.splice(this.#servers.indexOf(server), 1)
    const m = this.cluster?.find((x) => x.server_name === name)
    if (m !== undefined) { m.status = 'Offline'; m.message = 'No heartbeat for 11s' }
    // The others list its instances as Error stubs (§4.1).
    for (const i of this.instances.values()) if (i.location === name) i.stub = true
  }

  /**
   * `incus move --target`: instance-migrated, announced `namedAfterMs` before the database names the new member
   * (§6.1: the event can come first); the address may change with it.
   */
  migrate(project: string, name: string, to: string, addresses: { ipv4?: string | null; ipv6?: string | null } = {}, namedAfterMs = 100): void {
    const inst = this.get(project, name)
    this.emit(lifecycleEvent('instance-migrated', inst))
    setTimeout(() => {
      inst.location = to
      if (addresses.ipv4 !== undefined) inst.ipv4 = addresses.ipv4
      if (addresses.ipv6 !== undefined) inst.ipv6 = addresses.ipv6
    }, namedAfterMs).unref()
  }
  async close(): Promise<void> {
    clearInterval(this.#pinger)
    for (const i of this.instances.values()) clearAddressTimers(i)
    this.dropEventStreams()
    await Promise.all(this.#servers.map((s) => new Promise<void>((r) => { s.close(() => r()); s.closeAllConnections() })))
    if (this.#socketPath !== null) rmSync(this.#socketPath, { force: true })
  }

  // ---- scripting ----

  /** `incus launch`: instance-created, then instance-started; the address comes with no event. */
  launch(spec: LaunchSpec): SimInstance {
    const inst = this.create(spec)
    try {
      this.start(inst.project, inst.name, spec.addressAfterMs ?? 0, { ipv4: spec.ipv4AfterMs, ipv6: spec.ipv6AfterMs })
    } catch (err) {
      this.instances.delete(key(inst.project, inst.name)) // incus launch leaves it stopped; the sim keeps no half-made ones
      throw err
    }
    return inst
  }

  create(spec: LaunchSpec): SimInstance {
    const inst = newInstance(spec)
    const k = key(inst.project, inst.name)
    if (this.instances.has(k)) throw new Error(`instance ${k} exists`)
    this.projects.add(inst.project)
    this.instances.set(k, inst)
    this.emit(lifecycleEvent('instance-created', inst, { type: inst.type, 'storage-pool': 'default', location: 'none' }))
    return inst
  }

  /**
   * `incus start`. Refused, as incusd refuses it, when another project's instance of the same name is on the
   * same bridge ("Instance DNS name already used on network"). Each family arrives after its own delay.
   */
  start(project: string, name: string, addressAfterMs = 0, after: { ipv4?: number; ipv6?: number } = {}): void {
    const inst = this.get(project, name)
    for (const other of this.instances.values()) {
      if (other !== inst && other.name.toLowerCase() === inst.name.toLowerCase() && other.network === inst.network) {
        throw new Error(`Failed to start device "eth0": Instance DNS name "${inst.name}" already used on network`)
      }
    }
    inst.status = 'Running'
    clearAddressTimers(inst)
    const arrive = (family: 'ipv4' | 'ipv6', ms: number): void => {
      const set = (): void => { if (family === 'ipv4') inst.ipv4 = inst.plannedIpv4; else inst.ipv6 = inst.plannedIpv6 }
      if (ms <= 0) set()
      else inst.addressTimers.push(setTimeout(set, ms))
    }
    arrive('ipv4', after.ipv4 ?? addressAfterMs)
    arrive('ipv6', after.ipv6 ?? addressAfterMs)
    for (const nic of inst.extraNics) {
      nic.configured = false
      if ((nic.afterMs ?? 0) <= 0) nic.configured = true
      else inst.addressTimers.push(setTimeout(() => { nic.configured = true }, nic.afterMs))
    }
    this.emit(lifecycleEvent('instance-started', inst))
  }

  /** `incus stop`: containers send instance-shutdown, VMs instance-stopped (§5.5). */
  stop(project: string, name: string): void {
    const inst = this.get(project, name)
    clearAddressTimers(inst)
    inst.status = 'Stopped'
    inst.ipv4 = null
    inst.ipv6 = null
    this.emit(lifecycleEvent(inst.type === 'container' ? 'instance-shutdown' : 'instance-stopped', inst))
  }

  /** Renaming a running instance is refused by Incus (§0.5), so this one too. */
  rename(project: string, from: string, to: string): void {
    const inst = this.get(project, from)
    if (inst.status !== 'Stopped') throw new Error('Renaming of running instance not allowed')
    this.instances.delete(key(project, from))
    inst.name = to
    this.instances.set(key(project, to), inst)
    this.emit(lifecycleEvent('instance-renamed', inst, { old_name: from }))
  }

  delete(project: string, name: string): void {
    const inst = this.get(project, name)
    clearAddressTimers(inst)
    this.instances.delete(key(project, name))
    this.emit(lifecycleEvent('instance-deleted', inst))
  }

  /** `incus config set/unset`: instance-updated. */
  setConfig(project: string, name: string, configKey: string, value: string | null): void {
    const inst = this.get(project, name)
    if (value === null) delete inst.config[configKey]
    else inst.config[configKey] = value
    this.emit(lifecycleEvent('instance-updated', inst))
  }

  /** Its JSON made odd by `edit` from now on (null: as Incus sends it again), announced by instance-updated. */
  oddly(project: string, name: string, edit: ((json: Record<string, unknown>) => void) | null): void {
    const inst = this.get(project, name)
    if (edit === null) delete inst.oddly
    else inst.oddly = edit
    this.emit(lifecycleEvent('instance-updated', inst))
  }

  /** A guest's DHCP client or `ip addr`: addresses change and no event is sent (§0.1). */
  setAddresses(project: string, name: string, ipv4: string | null, ipv6: string | null): void {
    const inst = this.get(project, name)
    inst.ipv4 = ipv4
    inst.ipv6 = ipv6
    inst.plannedIpv4 = ipv4
    inst.plannedIpv6 = ipv6
  }

  /** A VM's agent connects (instance-agent-started, v6.23+) or goes away (no event here). */
  setAgent(project: string, name: string, running: boolean): void {
    const inst = this.get(project, name)
    inst.agent = running
    if (running) this.emit(lifecycleEvent('instance-agent-started', inst))
  }

  get(project: string, name: string): SimInstance {
    const inst = this.instances.get(key(project, name))
    if (inst === undefined) throw new Error(`no instance ${key(project, name)}`)
    return inst
  }

  /** `incus network create`: a managed network, announced by network-created (its reverse zones follow). */
  addNetwork(network: Network): void {
    this.#networks.push(network)
    this.emit(networkEvent('network-created', network.name))
  }

  /** `incus network delete`: announced by network-deleted. */
  deleteNetwork(name: string): void {
    const at = this.#networks.findIndex((n) => n.name === name)
    if (at < 0) throw new Error(`no network ${name} (the fixed bridges cannot be deleted)`)
    this.#networks.splice(at, 1)
    this.emit(networkEvent('network-deleted', name))
  }

  /** The next requests fail, one fault each, in order. */
  failNext(...faults: Fault[]): void { this.#faults.push(...faults) }
  /** Every request fails until called with null. */
  failAlways(fault: Fault | null): void { this.#always = fault }

  /** Closes every event stream, as a restarting incusd or a network cut does. */
  dropEventStreams(): void {
    for (const l of this.#listeners) l.ws.terminate()
    this.#listeners.clear()
  }

  get eventListeners(): number { return this.#listeners.size }

  /** Sends an event to the listeners that want it, with the configured delivery quirks. */
  emit(event: Event): void {
    if (this.events.drop) return
    if (this.events.reorder) {
      // Hold events of this turn and send them newest first: what per-event goroutines can do (§5.6).
      this.#held.push(event)
      if (this.#held.length === 1) setImmediate(() => { const held = this.#held.reverse(); this.#held = []; for (const e of held) this.#send(e) })
      return
    }
    this.#send(event)
    if (this.events.duplicate) this.#send(event)
  }

  #send(event: Event): void {
    const text = JSON.stringify(event) + '\n'
    for (const l of this.#listeners) {
      if (l.project !== null && event.project !== undefined && event.project !== '' && event.project !== l.project) continue
      l.ws.send(text)
    }
  }

  // ---- HTTP ----

  #trustedRequest(req: http.IncomingMessage): boolean {
    const sock = req.socket as TLSSocket
    if (typeof sock.getPeerCertificate !== 'function') return true // unix socket: fully trusted (§1.1)
    const cert = sock.getPeerCertificate()
    const raw = cert?.raw
    return raw !== undefined && this.trusted.some((t) => t.equals(raw))
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://incus')
    this.requests.push(`${req.method} ${url.pathname}${url.search}`)
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' })
      res.end(JSON.stringify(body) + '\n')
    }
    const fault = this.#faults.shift() ?? this.#always
    if (fault !== null && fault !== undefined) {
      if (fault === 'garbage') { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end('<html>not json</html>\n'); return }
      if (fault === 'truncated') { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end('{"type":"sync","metadata":[{"na'); return }
      send(fault.status, errorBody(fault.status, fault.error))
      return
    }
    const reply = route(req.method ?? 'GET', url, this.#trustedRequest(req), this.#memberOf.get(req.socket.localPort ?? 0) ?? 'sim', {
      instances: this.instances, networks: [...BRIDGES, ...this.#networks], oddEntries: this.oddEntries, cluster: this.cluster,
    })
    if (reply.listing === true && this.listingDelayMs > 0) setTimeout(() => send(reply.status, reply.body), this.listingDelayMs)
    else send(reply.status, reply.body)
  }

  #upgrade(req: http.IncomingMessage, socket: import('node:stream').Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://incus')
    const reject = (code: number, message: string): void => {
      const body = JSON.stringify({ type: 'error', status: '', status_code: 0, operation: '', error_code: code, error: message, metadata: null }) + '\n'
      socket.end(`HTTP/1.1 ${code} ${http.STATUS_CODES[code] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
    }
    this.requests.push(`GET ${url.pathname}${url.search} (websocket)`)
    if (url.pathname !== '/1.0/events') { reject(404, 'not found'); return }
    if (!this.#trustedRequest(req)) { reject(403, 'not authorized'); return }
    if (this.refuseEvents !== null) { reject(this.refuseEvents, 'Daemon is starting up'); return }
    // Checked before the upgrade, answered as ordinary JSON errors (§5.1).
    for (const t of (url.searchParams.get('type') ?? '').split(',').filter((x) => x !== '')) {
      if (!EVENT_TYPES.includes(t)) { reject(400, `"${t}" isn't a supported event type`); return }
    }
    const project = url.searchParams.get('project')
    const all = /^(true|1|yes|on)$/i.test(url.searchParams.get('all-projects') ?? '')
    if (project !== null && all) { reject(400, 'Cannot specify a project when requesting all projects'); return }
    if (project !== null && project !== 'default' && !this.projects.has(project)) { reject(404, 'Project not found'); return }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const listener: Listener = { ws, project: all ? null : project ?? 'default', port: req.socket.localPort }
      this.#listeners.add(listener)
      ws.on('close', () => this.#listeners.delete(listener))
      ws.on('error', () => ws.terminate())
    })
  }
}

function clearAddressTimers(i: SimInstance): void {
  for (const t of i.addressTimers) clearTimeout(t)
  i.addressTimers = []
}
