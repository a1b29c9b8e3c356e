/**
 * @module http/status
 * The status page at `/` and its JSON twin at `/status.json`: "why doesn't my instance resolve?". Every Incus
 * instance with the names and addresses it publishes, or why it publishes none (opted out, no address yet,
 * filtered out by state, no name, or a name another instance won, and which); the zones with serial and record
 * count; the services with each replica's health and whether it is served; an Incus cluster's members, the
 * one talked to and why it moved, and the instances held while their member is offline; the split-horizon views, with their clients, what they see and the queries each answered;
 * the names the name rules refused each instance, and instances Incus sent that could not be read; the
 * event stream and the last sync; the forwarding upstreams. Plain HTML rendered here, readable
 * without JavaScript, refreshed by the browser every 5 s.
 */
import { SETTINGS } from '../config/settings.ts'
import type { Forwarder } from '../forward/forwarder.ts'
import type { Mapped } from '../incus/naming/map.ts'
import { REFUSED_SKIP } from '../incus/naming/name-rules.ts'
import type { Refusal } from '../incus/naming/name-rules.ts'
import type { ServiceRow } from '../incus/naming/services.ts'
import { LATENCY_BUCKETS } from '../dns/stats.ts'
import { LAG_BUCKETS } from '../incus/lag.ts'
import { lineChart } from './graphs.ts'
import { escapeHtml } from './html.ts'
import { GRAPHED_RCODES, SAMPLE_MS, SAMPLES } from './history.ts'
import type { History, Sample } from './history.ts'
import type { IncusSource } from '../incus/source.ts'
import type { CatalogMember } from '../zone/catalog.ts'
import type { ZoneStore } from '../zone/store.ts'

export interface StatusSources {
  readonly store: ZoneStore
  readonly incus: IncusSource | null
  /** The last 15 minutes, for the graphs; absent: no graphs. */
  readonly history?: History
  /** Several servers in one zone (INCUS_DNS_INCUS_REMOTES): each with its name; empty for one server. */
  readonly remotes?: readonly { readonly name: string; readonly source: IncusSource }[]
  readonly forwarder: Forwarder | null
  /** Queries per split-horizon view (summed over the threads); absent or empty without INCUS_DNS_VIEWS. */
  readonly viewQueries?: () => ReadonlyMap<string, number>
  /** The resolvers trusted with EDNS Client Subnet (INCUS_DNS_VIEWS_ECS); absent or empty: none. */
  readonly subnetSources?: readonly string[]
  /** This server's INCUS_DNS_IDENTITY (what NSID and id.server say), and its version; absent: not shown. */
  readonly server?: { readonly identity: string | null; readonly version: string }
  /** The catalog zone (INCUS_DNS_CATALOG); absent or null: none. */
  readonly catalog?: { readonly apex: string; readonly started: boolean; members(): readonly CatalogMember[] } | null
  /** DNSSEC (INCUS_DNS_DNSSEC): each signed zone's keys and DS; absent or null: off. */
  readonly dnssec?: { status(): DnssecStatus } | null
}

/** What /status.json says of DNSSEC. */
export interface DnssecStatus {
  readonly keyDir: string
  /** Names whose signed answers are still being made (in slices); 0 once everything is signed. */
  readonly pending: number
  readonly zones: readonly { readonly zone: string; readonly keys: readonly { readonly tag: number; readonly algorithm: string; readonly signing: boolean }[]; readonly ds: readonly string[] }[]
}

export interface InstanceRow {
  readonly instance: string
  /** Incus's status of it. */
  readonly status: string
  /** published: it answers; otherwise why not. */
  readonly state: 'published' | 'opted out' | 'no address yet' | 'filtered out by state' | 'no name' | 'name refused' | 'name conflict'
  readonly names: readonly string[]
  readonly ipv4: string | null
  readonly ipv6: string | null
  /** Words for the state: the reason, or who won the name. */
  readonly detail: string
  /** The cluster member it is on ('' on a standalone server). */
  readonly member: string
  /** The addresses each split-horizon view answers with, when they differ from the default view's. */
  readonly views: readonly { view: string; ipv4: string | null; ipv6: string | null }[]
}

export interface ViewRow {
  readonly view: string
  /** Client prefixes; the default view has none: it answers everyone else. */
  readonly clients: readonly string[]
  /** Address ranges whose addresses its clients get. */
  readonly sees: readonly string[]
  /** Queries it answered since start. */
  readonly queries: number
}

export interface RemoteRow {
  readonly remote: string
  /** Its socket or URL (the member in use). */
  readonly incus: string
  readonly connected: boolean
  readonly syncs: number
  readonly syncErrors: number
  readonly lastSyncAgeSeconds: number | null
  readonly answeringFromStateFile: boolean
  /** Its instances among the records. */
  readonly instances: number
}

export interface ClusterRow {
  /** The member talked to, by its URL, and what /1.0 called it. */
  readonly current: string | null
  readonly serverName: string | null
  readonly members: readonly { member: string; url: string; status: string; message: string; inUse: boolean; instances: number }[]
  /** Moves from one member to another since start; the last few with their reasons (newest last). */
  readonly moved: number
  readonly switches: readonly { at: string; from: string; to: string; reason: string }[]
  /** Instances whose member is offline: their last records are kept. */
  readonly held: readonly { instance: string; member: string }[]
  /** One address held by instances on two members (each member's bridge, one subnet): no PTR is given for it. */
  readonly sharedAddresses: readonly { ptr: string; instances: readonly string[] }[]
}

export interface Status {
  /** Which server this is: its identity (null with INCUS_DNS_IDENTITY=none) and version. */
  readonly server: { readonly identity: string | null; readonly version: string } | null
  readonly instances: readonly InstanceRow[]
  /** Service names (incus-compose's and the other service keys): replicas, health, served or not and why. */
  readonly services: readonly ServiceRow[]
  readonly zones: readonly { zone: string; serial: number; records: number }[]
  /** The catalog zone and its members (null without INCUS_DNS_CATALOG); `serving` false until every source said which zones it serves. */
  readonly catalog: { readonly zone: string; readonly serving: boolean; readonly members: readonly CatalogMember[] } | null
  /** Signed zones, their keys and the DS each parent needs (null without INCUS_DNS_DNSSEC). */
  readonly dnssec: DnssecStatus | null
  /** Empty without INCUS_DNS_VIEWS. */
  readonly views: readonly ViewRow[]
  /** Names instances asked for through their keys that the name rules refused (docs/names.md), by instance. */
  readonly refusals: readonly Refusal[]
  /** Instances Incus sent that do not fit the shape incus-dns reads: they keep their last good records. */
  readonly unreadable: readonly { instance: string; problem: string }[]
  /** null unless Incus is a cluster, or several member URLs are configured. */
  readonly cluster: ClusterRow | null
  /** One row per remote with INCUS_DNS_INCUS_REMOTES of several servers; empty otherwise. */
  readonly remotes: readonly RemoteRow[]
  /** Samples of the last 15 minutes (every 10 s), oldest first: what the graphs draw. */
  readonly history: readonly Sample[]
  /** Resolvers whose EDNS Client Subnet picks the view (INCUS_DNS_VIEWS_ECS). */
  readonly subnetSources: readonly string[]
  readonly incus: null | { connected: boolean; reconnects: number; syncs: number; syncErrors: number; lastSyncAgeSeconds: number | null; answeringFromStateFile: boolean }
  readonly upstreams: readonly { upstream: string; queries: number; errors: number; healthy: boolean }[]
}

function why(skipped: string): InstanceRow['state'] {
  if (skipped.startsWith('opted out')) return 'opted out'
  if (skipped.startsWith('no usable address')) return 'no address yet'
  if (skipped.startsWith('status ')) return 'filtered out by state'
  if (skipped.startsWith(REFUSED_SKIP)) return 'name refused'
  return 'no name'
}

export function status(src: StatusSources): Status {
  const i = src.incus
  const instances: InstanceRow[] = []
  const c = i?.cluster.status()
  const held = c?.held ?? new Map<string, string>()
  const refusals = i?.records.refusals() ?? []
  const pollEvery = `${Math.round((i?.pollIntervalMs ?? 0) / 1000)} s`
  for (const m of [...(i?.records.instances.keys() ?? [])].sort().map((k) => i?.records.settled(k) as Mapped)) {
    const refused = refusals.filter((r) => r.instance === m.key)
    // The names a query gets this instance for; the others it claims are said, with why not.
    const standing = i?.records.standing(m.key) ?? []
    const lost = standing.filter((s) => !s.answers)
    const note = (refused.length === 0 ? '' : `; refused: ${refused.map((r) => `${r.key}=${r.name} (${r.reason})`).join(', ')}`) +
      (lost.length === 0 || m.skipped !== null ? '' : `; not answered: ${lost.map((s) => `${s.name} (${s.why ?? ''})`).join(', ')}`)
    const names = m.skipped !== null
      ? (m.hostname === null ? [] : [m.hostname, ...(m.service !== undefined ? [m.service] : []), ...m.aliases])
      : standing.filter((s) => s.answers).map((s) => s.name)
    if (m.skipped !== null) {
      instances.push({ instance: m.key, status: m.status ?? '', state: why(m.skipped), names, ipv4: null, ipv6: null, detail: m.skipped + note, views: [], member: m.location ?? '' })
      continue
    }
    const winner = m.hostname === null ? null : i?.records.hostnameWinner(m.hostname) ?? null
    if (winner !== null && winner !== m.key) {
      instances.push({ instance: m.key, status: m.status ?? '', state: 'name conflict', names, ipv4: m.ipv4, ipv6: m.ipv6, detail: `${m.hostname ?? ''} is answered for ${winner} (${winner.includes(':') && winner.split(':')[0] !== m.key.split(':')[0] ? 'its remote comes first in INCUS_DNS_INCUS_REMOTES' : 'the first by project/name'})`, views: [], member: m.location ?? '' })
      continue
    }
    const gaveUp = i?.addressWatch.gaveUp(m.key)
    const waiting = m.awaitingAddress === false ? ''
      : gaveUp !== undefined ? `; no ${gaveUp.family} after ${Math.round(gaveUp.afterMs / 1000)} s of polling: the watch gave up, the full sync every ${pollEvery} looks again`
        : `; still waiting for ${m.ipv4 === null ? 'IPv4' : 'IPv6'}`
    const views = (i?.viewRecords.perView(m) ?? []).filter((v) => v.ipv4 !== m.ipv4 || v.ipv6 !== m.ipv6)
    const warning = m.warning !== undefined ? `; ${m.warning}` : ''
    const hold = held.has(m.key) ? `; held: its member ${held.get(m.key) || m.location || '?'} is offline, so these are its last records` : ''
    instances.push({ instance: m.key, status: m.status ?? '', state: 'published', names, ipv4: m.ipv4, ipv6: m.ipv6, detail: `answers${waiting}${hold}${note}${warning}`, views, member: m.location ?? '' })
  }
  const counts = src.store.namesPerZone()
  const now = Date.now()
  const queries = src.viewQueries?.() ?? new Map<string, number>()
  const resolved = i?.viewRecords.resolved ?? []
  const views: ViewRow[] = queries.size === 0 && resolved.length === 0 ? [] : [
    { view: 'default', clients: [], sees: [], queries: queries.get('default') ?? 0 },
    ...resolved.map((v) => ({ view: v.name, clients: v.clients, sees: v.sees, queries: queries.get(v.name) ?? 0 })),
  ]
  return {
    server: src.server ?? null,
    instances,
    services: i?.records.services() ?? [],
    views,
    refusals,
    unreadable: i?.unreadable.list() ?? [],
    history: src.history?.samples() ?? [],
    remotes: (src.remotes ?? []).map(({ name, source: r }) => ({
      remote: name, incus: r.client.connection.kind === 'unix' ? r.client.connection.socketPath : r.client.connection.url,
      connected: r.eventsConnected, syncs: r.stats.syncs, syncErrors: r.stats.syncErrors,
      lastSyncAgeSeconds: r.stats.lastSyncAt === 0 ? null : Math.round((now - r.stats.lastSyncAt) / 100) / 10, answeringFromStateFile: r.restored,
      instances: instances.filter((row) => row.instance.startsWith(`${name}:`)).length,
    })),
    cluster: c === undefined || (c.members.length === 0 && c.moved === 0 && c.urls.length < 2) ? null : {
      current: c.current, serverName: c.serverName, moved: c.moved,
      members: c.members.map((m) => ({
        member: m.server_name, url: m.url, status: m.status, message: m.message ?? '', inUse: m.url === c.current,
        instances: instances.filter((r) => r.member === m.server_name).length,
      })),
      switches: c.switches.slice(-5).map((w) => ({ at: new Date(w.at).toISOString(), from: w.from, to: w.to, reason: w.reason })),
      held: [...held].sort().map(([instance, member]) => ({ instance, member })),
      sharedAddresses: i?.records.sharedAddresses() ?? [],
    },
    subnetSources: src.subnetSources ?? [],
    zones: src.store.zones().sort().map((zone) => ({ zone, serial: src.store.serial(zone) ?? 0, records: counts.get(zone) ?? 0 })),
    catalog: src.catalog === undefined || src.catalog === null ? null : { zone: src.catalog.apex, serving: src.catalog.started, members: src.catalog.members() },
    dnssec: src.dnssec?.status() ?? null,
    incus: i === null ? null : {
      connected: i.eventsConnected, reconnects: i.reconnects, syncs: i.stats.syncs, syncErrors: i.stats.syncErrors,
      lastSyncAgeSeconds: i.stats.lastSyncAt === 0 ? null : Math.round((now - i.stats.lastSyncAt) / 100) / 10, answeringFromStateFile: i.restored,
    },
    upstreams: (src.forwarder?.upstreams ?? []).map((u) => ({ upstream: u.label, queries: u.queries, errors: u.errors, healthy: u.penalizedUntil <= now })),
  }
}

const RCODE_COLOURS = ['#2a7', '#c80', '#888', '#d22', '#82c']
const perSecond = (v: number): string => `${v < 10 ? v.toFixed(1) : Math.round(v)}/s`
const duration = (v: number): string => (v < 0.001 ? `${Math.round(v * 1e6)} µs` : v < 1 ? `${(v * 1000).toFixed(v < 0.01 ? 2 : 0)} ms` : `${v.toFixed(1)} s`)

/** The last 15 minutes as three charts: responses per second by rcode, answer latency, publish lag. */
function graphs(history: readonly Sample[]): string {
  if (history.length === 0) return '<p>Graphs of the last 15 minutes appear after the first 10 s.</p>'
  const times = history.map((h) => h.at)
  const now = times.at(-1) as number
  const window = SAMPLES * SAMPLE_MS
  return `<h2>Last 15 minutes</h2>\n<div class="graphs">${[
    lineChart('Responses per second', times, GRAPHED_RCODES.map(([name], i) => ({ name, color: RCODE_COLOURS[i] as string, values: history.map((h) => h.perSecond[i] ?? 0) })), perSecond, window, now),
    // Log scales by decade, from the first bucket bound: one slow sample leaves the steady microseconds readable.
    lineChart('Answer latency (UDP)', times, [{ name: 'p50', color: '#27c', values: history.map((h) => h.p50) }, { name: 'p99', color: '#c27', values: history.map((h) => h.p99) }], duration, window, now, { log: { floor: LATENCY_BUCKETS[0] }, legendPrefix: '≤ ' }),
    lineChart('Incus publish lag (p99)', times, [{ name: 'p99', color: '#72c', values: history.map((h) => h.lagP99) }], duration, window, now, { log: { floor: LAG_BUCKETS[0] }, legendPrefix: '≤ ' }),
  ].join('')}</div>`
}

export function statusPage(s: Status): string {
  const row = (cells: readonly string[], cls = ''): string => `<tr${cls === '' ? '' : ` class="${cls}"`}>${cells.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`
  const table = (head: readonly string[], rows: readonly string[]): string =>
    `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`
  const incus = s.incus === null ? '<p>Incus is not configured (INCUS_DNS_INCUS_SOCKET=none).</p>'
    : `<p>Event stream: <b>${s.incus.connected ? 'connected' : 'down'}</b> (${s.incus.reconnects} reconnects). Last full sync: ${s.incus.lastSyncAgeSeconds === null ? 'none yet' : `${s.incus.lastSyncAgeSeconds} s ago`} (${s.incus.syncs} ok, ${s.incus.syncErrors} failed).${s.incus.answeringFromStateFile ? ' Answering from the state file until Incus answers.' : ''}</p>`
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>incus-dns status</title>
<style>body{font:14px system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#eee}.graphs{display:flex;flex-wrap:wrap;gap:1em;margin-bottom:1em}tr.published td:nth-child(3){color:#060}tr.problem td:nth-child(3){color:#a00;font-weight:bold}</style></head><body>
<h1>incus-dns${s.server === null ? '' : escapeHtml(` ${s.server.version.replace(/^incus-dns /, '')}${s.server.identity === null ? '' : ` on ${s.server.identity}`}`)}</h1>
${graphs(s.history)}
<h2>Instances</h2>
${s.remotes.length === 0 ? incus : table(['remote', 'Incus', 'event stream', 'last full sync', 'syncs ok', 'failed', 'instances'], s.remotes.map((r) => row([r.remote, r.incus, r.connected ? 'connected' : 'down',
    r.lastSyncAgeSeconds === null ? (r.answeringFromStateFile ? 'none yet (answering from the state file)' : 'none yet') : `${r.lastSyncAgeSeconds} s ago`, String(r.syncs), String(r.syncErrors), String(r.instances)], r.connected ? 'published' : 'problem')))}
${table(['instance', 'status', 'DNS', 'names', 'IPv4', 'IPv6', ...(s.cluster !== null ? ['member'] : []), ...(s.views.length > 0 ? ['in other views'] : []), 'why'], s.instances.map((r) => row([r.instance, r.status, r.state, r.names.join(' '), r.ipv4 ?? '', r.ipv6 ?? '', ...(s.cluster !== null ? [r.member] : []),
    ...(s.views.length > 0 ? [r.views.map((v) => `${v.view}: ${[v.ipv4, v.ipv6].filter((a) => a !== null).join(' ')}`).join('; ')] : []), r.detail], r.state === 'published' ? 'published' : 'problem')))}
${s.services.length === 0 ? '' : `<h2>Services</h2>\n${table(['service', 'stack', 'served', 'replica', 'health', 'answers with it', 'why'], s.services.flatMap((v) => v.replicas.map((r, k) =>
    row([k === 0 ? v.service : '', k === 0 ? v.stack : '', k === 0 ? `${v.served} of ${v.replicas.length}${v.failOpen ? ' (all withheld: all served)' : ''}` : '', r.instance, r.health, r.served ? 'yes' : 'no', r.why], r.served ? 'published' : 'problem'))))}`}
${s.cluster === null ? '' : `<h2>Cluster</h2>\n<p>Talking to <b>${escapeHtml(s.cluster.current ?? 'the local socket')}</b>${s.cluster.serverName === null ? '' : ` (${escapeHtml(s.cluster.serverName)})`}; moved ${s.cluster.moved} times since start.${s.cluster.held.length === 0 ? '' : ` Held (member offline, last records kept): ${escapeHtml(s.cluster.held.map((h) => h.instance).join(', '))}.`}</p>
${table(['member', 'URL', 'status', 'talked to', 'instances', 'message'], s.cluster.members.map((m) => row([m.member, m.url, m.status, m.inUse ? 'yes' : '', String(m.instances), m.message], m.status === 'Online' ? 'published' : 'problem')))}
${s.cluster.switches.length === 0 ? '' : table(['moved at', 'from', 'to', 'why'], s.cluster.switches.map((w) => row([w.at, w.from, w.to, w.reason])))}
${s.cluster.sharedAddresses.length === 0 ? '' : `<p>One address on two members (no PTR, it could name the wrong instance):</p>\n${table(['PTR name', 'instances'], s.cluster.sharedAddresses.map((a) => row([a.ptr, a.instances.join(' ')], 'problem')))}`}`}
${s.refusals.length === 0 ? '' : `<h2>Names refused</h2>\n<p>Names instances asked for through their keys that the name rules do not let them have (<code>INCUS_DNS_PROJECT_NAMES</code>, docs/names.md):</p>\n${table(['instance', 'key', 'name', 'reason', 'rule', 'to fix'], s.refusals.map((r) => row([r.instance, r.key, r.name, r.reason, r.rule, r.fix], 'problem')))}`}
${s.unreadable.length === 0 ? '' : `<h2>Instances not read</h2>\n<p>Incus sent these in a shape incus-dns cannot read; they keep their last good records:</p>\n${table(['instance', 'what was wrong'], s.unreadable.map((u) => row([u.instance, u.problem], 'problem')))}`}
<h2>Zones</h2>
${table(['zone', 'serial', 'names'], s.zones.map((z) => row([z.zone, String(z.serial), String(z.records)])))}
${s.dnssec === null ? '' : `<h2>DNSSEC</h2>\n<p>Every zone is signed (keys in <code>${escapeHtml(s.dnssec.keyDir)}</code>)${s.dnssec.pending === 0 ? '' : `; ${s.dnssec.pending} names are being signed, answered per query meanwhile`}. The DS records are what each zone's parent needs (<code>incus-dns dnssec ds</code> prints them too).</p>\n${table(['zone', 'keys', 'DS for the parent'], s.dnssec.zones.map((z) => row([z.zone, z.keys.map((k) => `${k.tag} ${k.algorithm}${k.signing ? '' : ' (published only)'}`).join(', '), z.ds.join('\n')])))}`}
${s.catalog === null ? '' : `<h2>Catalog</h2>\n<p>The catalog zone <b>${escapeHtml(s.catalog.zone)}</b> (RFC 9432) ${s.catalog.serving ? `lists ${s.catalog.members.length} member zones for the secondaries` : 'is served once every Incus source has said which zones it serves'}.</p>\n${table(['member zone', 'unique id', 'group'], s.catalog.members.map((m) => row([m.zone, m.id, m.group])))}`}
${s.views.length === 0 ? '' : `<h2>Views</h2>\n${s.subnetSources.length === 0 ? '' : `<p>The EDNS Client Subnet of ${escapeHtml(s.subnetSources.join(', '))} picks the view of the client it names.</p>\n`}${table(['view', 'clients', 'sees', 'queries answered'], s.views.map((v) => row([v.view, v.view === 'default' ? 'every other client' : v.clients.join(' '), v.view === 'default' ? "each instance's first NIC (or user.dns.nic)" : v.sees.join(' '), String(v.queries)])))}`}
<h2>Forwarding</h2>
${s.upstreams.length === 0 ? `<p>Off (${SETTINGS.forwarders.env} is empty).</p>` : table(['upstream', 'health', 'queries', 'errors'], s.upstreams.map((u) => row([u.upstream, u.healthy ? 'healthy' : 'held back after failures', String(u.queries), String(u.errors)])))}
<p><a href="/status.json">JSON</a> · <a href="/zone">/zone</a> · <a href="/metrics">/metrics</a> · refreshed every 5 s</p>
</body></html>
`
}
