/**
 * @module http/metrics
 * Prometheus metrics (prom-client registry and text format), read from the components' own counters at
 * scrape time: nothing on the query path but the increments in dns/stats.ts. Names start `incus_dns_`,
 * counters end `_total`, durations `_seconds`; label values are bounded.
 */
import client from 'prom-client'
import { COUNTED_QTYPES, LATENCY_BUCKETS } from '../dns/stats.ts'
import type { DnsStats } from '../dns/stats.ts'
import type { Forwarder } from '../forward/forwarder.ts'
import type { Histogram } from '../histogram.ts'
import { COOKIE_RESULTS } from '../dns/cookies.ts'
import { LAG_BUCKETS, sumLag } from '../incus/lag.ts'
import { REFUSAL_REASONS } from '../incus/naming/name-rules.ts'
import type { IncusSource } from '../incus/source.ts'
import type { TransferStats } from '../xfr/hook.ts'
import type { Notifier } from '../xfr/notify.ts'
import type { ZoneStore } from '../zone/store.ts'

export interface MetricSources {
  /** The DNS counters (summed over worker threads when there are some), read at scrape time. */
  readonly dns: () => DnsStats
  readonly store: ZoneStore
  readonly incus: IncusSource | null
  /** Every Incus source (several with INCUS_DNS_INCUS_REMOTES): their counts are summed. */
  readonly remotes?: readonly IncusSource[]
  readonly forwarder: Forwarder | null
  readonly transfers: TransferStats
  readonly notifier: Notifier | null
  /** Queries per split-horizon view, summed over the threads; empty without INCUS_DNS_VIEWS. */
  readonly viewQueries?: () => ReadonlyMap<string, number>
  /** Dynamic updates: what the updater answered, and the records they made; absent or null without update keys. */
  readonly updates?: { readonly updater: { readonly results: ReadonlyMap<string, number> }; readonly dynamic: { readonly size: number } } | null
  /** The catalog zone; absent or null without INCUS_DNS_CATALOG. */
  readonly catalog?: { members(): readonly unknown[] } | null
  /** DNSSEC's counts; absent or null without INCUS_DNS_DNSSEC. */
  readonly dnssec?: { signatures(): number; online(): number } | null
}

type Labels = Record<string, string | number>
interface Value { readonly labels?: Labels; readonly value: number; readonly metricName?: string }

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED']

/** A histogram's values as Prometheus has them: cumulative `_bucket`s by `le`, then `_sum` and `_count`. */
function histogramValues(name: string, bounds: readonly number[], h: Histogram, labels: Labels = {}): Value[] {
  let cumulative = 0
  return [
    ...[...bounds, '+Inf' as const].map((le, k) => {
      cumulative += h.counts[k] ?? 0
      return { metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative }
    }),
    { metricName: `${name}_sum`, labels, value: h.sum },
    { metricName: `${name}_count`, labels, value: h.count },
  ]
}

/** A metric whose values are computed when scraped (prom-client calls get()). */
function computed(name: string, help: string, type: 'counter' | 'gauge' | 'histogram', values: () => Value[]) {
  return { name, help, type, get: async () => ({ name, help, type, values: values(), aggregator: 'sum' }) }
}

/** Every metric name we export, with its type and labels: docs/operations.md's metrics table is tested against it. */
export const METRICS = [
  ['incus_dns_queries_total', 'counter', 'transport, qtype', 'Queries received.'],
  ['incus_dns_responses_total', 'counter', 'rcode', 'Responses sent, by rcode (authoritative and forwarded).'],
  ['incus_dns_dropped_total', 'counter', 'reason', 'Messages dropped unanswered: malformed (shorter than a header, or a response) or internal_error.'],
  ['incus_dns_rrl_total', 'counter', 'action', 'UDP responses rate limiting held back: dropped, slipped (sent as an empty TC reply), or logged (INCUS_DNS_RRL_LOG_ONLY: counted, answered).'],
  ['incus_dns_cookies_total', 'counter', 'result', 'Queries with a DNS cookie, by what came of it: issued (a server cookie made or renewed), proven (a valid one of ours), badcookie and tc (turned away in require mode), malformed (FORMERR).'],
  ['incus_dns_truncated_total', 'counter', '', 'UDP responses sent with TC=1.'],
  ['incus_dns_tcp_closed_total', 'counter', 'reason', 'TCP connections closed by us: idle_at_cap (the idlest, to let a new one in at INCUS_DNS_TCP_MAX_CONNECTIONS), per_source_cap (one address over INCUS_DNS_TCP_MAX_PER_SOURCE), idle_timeout.'],
  ['incus_dns_tcp_pressure_total', 'counter', '', 'Times open TCP connections passed 3/4 of the cap, so that idle timeouts were shortened to INCUS_DNS_TCP_PRESSURE_IDLE_TIMEOUT.'],
  ['incus_dns_view_queries_total', 'counter', 'view', "Queries by the split-horizon view their client's address picked (default: every other client); none without INCUS_DNS_VIEWS."],
  ['incus_dns_answer_duration_seconds', 'histogram', '', 'Time from a UDP query arriving to its authoritative answer being sent.'],
  ['incus_dns_zone_records', 'gauge', 'zone', 'Names with records in each zone.'],
  ['incus_dns_zone_serial', 'gauge', 'zone', 'SOA serial served for each zone.'],
  ['incus_dns_incus_syncs_total', 'counter', 'result', 'Full syncs with Incus, by result (success, failure).'],
  ['incus_dns_incus_last_sync_timestamp_seconds', 'gauge', '', 'When the last successful full sync finished (0: none yet).'],
  ['incus_dns_incus_last_sync_age_seconds', 'gauge', '', 'Seconds since the last successful full sync with Incus (-1 before the first; absent without Incus).'],
  ['incus_dns_incus_last_sync_duration_seconds', 'gauge', '', 'How long the last successful full sync with Incus took (with several remotes, the longest).'],
  ['incus_dns_incus_last_sync_bytes', 'gauge', '', 'Bytes the last successful full sync read from Incus (with several remotes, summed).'],
  ['incus_dns_incus_publish_lag_seconds', 'histogram', 'via', 'From an Incus change to its names being published: via=event from the lifecycle event\'s timestamp, via=address from the last look that did not see the address yet (addresses arrive with no event).'],
  ['incus_dns_incus_events_total', 'counter', '', 'Events received from Incus.'],
  ['incus_dns_incus_event_stream_connected', 'gauge', '', '1 while the Incus event stream is connected.'],
  ['incus_dns_incus_reconnects_total', 'counter', '', 'Event-stream reconnections.'],
  ['incus_dns_incus_member_switches_total', 'counter', '', 'Moves from one Incus cluster member to another because the one in use stopped answering.'],
  ['incus_dns_incus_answering_from_state_file', 'gauge', '', '1 while the Incus records come from the state file (warm restart) because Incus has not answered a sync yet.'],
  ['incus_dns_incus_member_in_use', 'gauge', 'member, url', 'The Incus cluster member talked to: 1 for it (its name as the cluster gives it, and its URL); none over a unix socket.'],
  ['incus_dns_incus_cluster_members', 'gauge', 'status', 'Members of the Incus cluster by the status the cluster gives them (Online, Offline, Evacuated, ...); none for a standalone server.'],
  ['incus_dns_incus_held_instances', 'gauge', '', 'Instances listed as Error because their cluster member is offline: their last records are kept.'],
  ['incus_dns_incus_instances', 'gauge', 'state', 'Instances known, by whether they publish records (published, skipped).'],
  ['incus_dns_service_replicas', 'gauge', 'state', 'Replicas of service names: served (answered for the service) or withheld (by user.healthcheck.status).'],
  ['incus_dns_services_all_withheld', 'gauge', '', 'Services whose every replica is withheld by its health, so that all of them are served.'],
  ['incus_dns_name_conflicts_total', 'counter', '', 'Names claimed by two instances (each losing instance counted once).'],
  ['incus_dns_names_refused', 'gauge', 'reason', "Names instances ask for through their keys that the name rules refuse now, by reason: apex, reverse, wildcard, zone-file, no-zone, project (docs/names.md)."],
  ['incus_dns_incus_requests_total', 'counter', 'kind', 'Requests sent to Incus: listing (every instance with its state), event and address (one instance, after a lifecycle event or for the address watch), networks, leases, server, members.'],
  ['incus_dns_incus_unreadable_instances', 'gauge', '', 'Instances Incus sent in a shape incus-dns cannot read: they keep their last good records.'],
  ['incus_dns_incus_address_watch', 'gauge', 'state', 'Instances the address watch polls for an address family not there yet (watching), and those whose watch gave up (gave_up: left to the full sync).'],
  ['incus_dns_ready', 'gauge', '', '1 once listening and, with Incus configured, the first sync has succeeded.'],
  ['incus_dns_forward_requests_total', 'counter', '', 'Queries forwarded for allowed clients (cache hits included).'],
  ['incus_dns_forward_cache_hits_total', 'counter', '', 'Forwarded queries answered from the cache.'],
  ['incus_dns_forward_cache_misses_total', 'counter', '', 'Forwarded queries not in the cache.'],
  ['incus_dns_forward_cache_entries', 'gauge', '', 'Answers in the forwarding cache.'],
  ['incus_dns_forward_coalesced_total', 'counter', '', 'Forwarded queries that joined an identical one in flight.'],
  ['incus_dns_forward_servfail_total', 'counter', '', 'Forwarded queries answered SERVFAIL because every upstream failed.'],
  ['incus_dns_forward_spoofed_total', 'counter', '', 'Upstream replies dropped for a wrong source, ID or question.'],
  ['incus_dns_forward_upstream_queries_total', 'counter', 'upstream', 'Queries sent to each upstream.'],
  ['incus_dns_forward_upstream_failures_total', 'counter', 'upstream', 'Timeouts, network errors and REFUSED from each upstream.'],
  ['incus_dns_xfr_total', 'counter', 'kind', 'Zone transfers served (AXFR; IXFR with differences).'],
  ['incus_dns_xfr_refused_total', 'counter', 'reason', 'Transfers refused: acl (not in INCUS_DNS_XFR_ALLOW, unsigned, AXFR over UDP) or tsig (bad signature or time).'],
  ['incus_dns_notify_total', 'counter', 'result', 'NOTIFY messages: sent (each try), acknowledged, failed (never acknowledged).'],
  ['incus_dns_updates_total', 'counter', 'result', 'Dynamic UPDATEs answered, by rcode: noerror (applied), refused (unsigned or not granted), notauth (a bad TSIG, or a zone not ours), formerr, notzone, and the prerequisite failures nxdomain, yxdomain, nxrrset, yxrrset.'],
  ['incus_dns_update_records', 'gauge', '', 'Records dynamic updates made that are in the zone now.'],
  ['incus_dns_catalog_members', 'gauge', '', 'Member zones the catalog zone (INCUS_DNS_CATALOG) lists; 0 without one, or until it is served.'],
  ['incus_dns_dnssec_signatures_total', 'counter', '', 'RRSIGs made (INCUS_DNS_DNSSEC): when names change, at each new validity window, and per query for the answers below; a signature taken again from the cache is not counted.'],
  ['incus_dns_dnssec_online_answers_total', 'counter', '', 'Answers to queries with DO signed for the name asked (a name that does not exist, a wildcard or DNAME synthesis), off the hot path.'],
] as const

export function createRegistry(src: MetricSources, ready: () => boolean): client.Registry {
  const reg = new client.Registry()
  // Node's process metrics under their standard names (process_cpu_seconds_total, nodejs_*), as stock
  // dashboards expect; only our own metrics carry incus_dns_.
  client.collectDefaultMetrics({ register: reg })
  let d = src.dns()
  const add = (name: string, values: () => Value[]): void => {
    const meta = METRICS.find((m) => m[0] === name)
    if (meta === undefined) throw new Error(`metric ${name} is not in METRICS`)
    // The first DNS metric of a scrape takes a fresh total; the others of that scrape reuse it.
    const refresh = name === 'incus_dns_queries_total'
    reg.registerMetric(computed(name, meta[3], meta[1], () => { if (refresh) d = src.dns(); return values() }) as unknown as client.Metric)
  }
  add('incus_dns_queries_total', () => (['udp', 'tcp'] as const).flatMap((transport, t) =>
    [...Object.entries(COUNTED_QTYPES), ['256', 'other']].map(([code, qtype]) => ({ labels: { transport, qtype: qtype as string }, value: d.qtypes[t as 0 | 1][Number(code)] ?? 0 }))))
  add('incus_dns_responses_total', () => RCODES.map((rcode, i) => ({ labels: { rcode }, value: d.responses[i] ?? 0 })))
  add('incus_dns_dropped_total', () => Object.entries(d.dropped).map(([reason, value]) => ({ labels: { reason }, value })))
  add('incus_dns_rrl_total', () => ['dropped', 'slipped', 'logged'].map((action, i) => ({ labels: { action }, value: d.rrl[i] ?? 0 })))
  add('incus_dns_cookies_total', () => COOKIE_RESULTS.flatMap((result, i) => (i === 0 ? [] : [{ labels: { result }, value: d.cookies[i] ?? 0 }])))
  add('incus_dns_truncated_total', () => [{ value: d.truncated }])
  add('incus_dns_tcp_closed_total', () => Object.entries(d.tcpClosed).map(([reason, value]) => ({ labels: { reason }, value })))
  add('incus_dns_tcp_pressure_total', () => [{ value: d.tcpPressure }])
  add('incus_dns_view_queries_total', () => [...(src.viewQueries?.() ?? new Map<string, number>())].map(([view, value]) => ({ labels: { view }, value })))
  add('incus_dns_answer_duration_seconds', () => histogramValues('incus_dns_answer_duration_seconds', LATENCY_BUCKETS, d.latency))
  add('incus_dns_zone_records', () => {
    const counts = src.store.namesPerZone()
    return src.store.zones().map((zone) => ({ labels: { zone }, value: counts.get(zone) ?? 0 }))
  })
  add('incus_dns_zone_serial', () => src.store.zones().map((zone) => ({ labels: { zone }, value: src.store.serial(zone) ?? 0 })))
  const i = src.incus
  // With several remotes, counts add up; the last sync is the oldest of theirs, and the stream is up only when all are.
  const all = src.remotes !== undefined && src.remotes.length > 0 ? src.remotes : i === null ? [] : [i]
  const sum = (f: (s: IncusSource) => number): number => all.reduce((n, s) => n + f(s), 0)
  const lastSync = (): number => (all.length === 0 || all.some((s) => s.stats.lastSyncAt === 0) ? 0 : Math.min(...all.map((s) => s.stats.lastSyncAt)))
  add('incus_dns_incus_syncs_total', () => [{ labels: { result: 'success' }, value: sum((s) => s.stats.syncs) }, { labels: { result: 'failure' }, value: sum((s) => s.stats.syncErrors) }])
  add('incus_dns_incus_last_sync_timestamp_seconds', () => [{ value: lastSync() / 1000 }])
  // No sample at all without Incus (zone files only): -1 there read as "never synced" to IncusDnsSyncStale.
  add('incus_dns_incus_last_sync_age_seconds', () => (i === null ? [] : [{ value: lastSync() === 0 ? -1 : (Date.now() - lastSync()) / 1000 }]))
  add('incus_dns_incus_last_sync_duration_seconds', () => [{ value: Math.max(0, ...all.map((s) => s.stats.lastSyncMs)) / 1000 }])
  add('incus_dns_incus_last_sync_bytes', () => [{ value: sum((s) => s.stats.lastSyncBytes) }])
  add('incus_dns_incus_publish_lag_seconds', () => (['event', 'address'] as const).flatMap((via) =>
    histogramValues('incus_dns_incus_publish_lag_seconds', LAG_BUCKETS, sumLag(all.map((s) => s.stats.lag), [via]), { via })))
  add('incus_dns_incus_events_total', () => [{ value: sum((s) => s.stats.events) }])
  add('incus_dns_incus_event_stream_connected', () => [{ value: all.length > 0 && all.every((s) => s.eventsConnected) ? 1 : 0 }])
  add('incus_dns_incus_reconnects_total', () => [{ value: sum((s) => s.reconnects) }])
  add('incus_dns_incus_member_switches_total', () => [{ value: sum((s) => s.cluster.status().moved) }])
  add('incus_dns_incus_answering_from_state_file', () => [{ value: all.some((s) => s.restored) ? 1 : 0 }])
  add('incus_dns_incus_member_in_use', () => all.flatMap((s) => {
    const c = s.cluster.status()
    return c.current === null ? [] : [{ labels: { member: c.currentMember ?? '', url: c.current }, value: 1 }]
  }))
  add('incus_dns_incus_cluster_members', () => {
    const by = new Map<string, number>()
    for (const m of i?.cluster.status().members ?? []) by.set(m.status, (by.get(m.status) ?? 0) + 1)
    return [...by].map(([status, value]) => ({ labels: { status }, value }))
  })
  add('incus_dns_incus_held_instances', () => [{ value: sum((s) => s.cluster.held.size) }])
  add('incus_dns_incus_instances', () => {
    const all = [...(i?.records.instances.values() ?? [])]
    const published = all.filter((m) => m.skipped === null).length
    return [{ labels: { state: 'published' }, value: published }, { labels: { state: 'skipped' }, value: all.length - published }]
  })
  add('incus_dns_service_replicas', () => {
    const rows = i?.records.services() ?? []
    return [{ labels: { state: 'served' }, value: rows.reduce((n, r) => n + r.served, 0) }, { labels: { state: 'withheld' }, value: rows.reduce((n, r) => n + r.withheld, 0) }]
  })
  add('incus_dns_services_all_withheld', () => [{ value: (i?.records.services() ?? []).filter((r) => r.failOpen).length }])
  add('incus_dns_name_conflicts_total', () => [{ value: i?.records.conflicts ?? 0 }])
  add('incus_dns_names_refused', () => {
    const refused = i?.records.refusals() ?? []
    return REFUSAL_REASONS.map((reason) => ({ labels: { reason }, value: refused.filter((r) => r.reason === reason).length }))
  })
  add('incus_dns_incus_requests_total', () => {
    const fetched = { event: sum((s) => s.fetched.event), address: sum((s) => s.fetched.address) }
    return ['listing', 'event', 'address', 'networks', 'leases', 'server', 'members'].map((kind) => ({
      labels: { kind }, value: kind === 'event' || kind === 'address' ? fetched[kind] : sum((s) => s.stats.requests[kind] ?? 0),
    }))
  })
  add('incus_dns_incus_unreadable_instances', () => [{ value: sum((s) => s.unreadable.list().length) }])
  add('incus_dns_incus_address_watch', () => [{ labels: { state: 'watching' }, value: sum((s) => s.addressWatch.watching) }, { labels: { state: 'gave_up' }, value: sum((s) => s.addressWatch.gaveUpCount) }])
  add('incus_dns_ready', () => [{ value: ready() ? 1 : 0 }])
  const f = src.forwarder
  add('incus_dns_forward_requests_total', () => [{ value: f?.stats.requests ?? 0 }])
  add('incus_dns_forward_cache_hits_total', () => [{ value: f?.stats.cacheHits ?? 0 }])
  add('incus_dns_forward_cache_misses_total', () => [{ value: f?.stats.cacheMisses ?? 0 }])
  add('incus_dns_forward_cache_entries', () => [{ value: f?.cache.size ?? 0 }])
  add('incus_dns_forward_coalesced_total', () => [{ value: f?.stats.coalesced ?? 0 }])
  add('incus_dns_forward_servfail_total', () => [{ value: f?.stats.servfail ?? 0 }])
  add('incus_dns_forward_spoofed_total', () => [{ value: f?.stats.spoofed ?? 0 }])
  add('incus_dns_forward_upstream_queries_total', () => (f?.upstreams ?? []).map((u) => ({ labels: { upstream: u.label }, value: u.queries })))
  add('incus_dns_forward_upstream_failures_total', () => (f?.upstreams ?? []).map((u) => ({ labels: { upstream: u.label }, value: u.errors })))
  const x = src.transfers
  add('incus_dns_xfr_total', () => [{ labels: { kind: 'AXFR' }, value: x.axfr }, { labels: { kind: 'IXFR' }, value: x.ixfr }])
  add('incus_dns_xfr_refused_total', () => [{ labels: { reason: 'acl' }, value: x.refused }, { labels: { reason: 'tsig' }, value: x.badTsig }])
  const n = src.notifier
  const u = src.updates
  add('incus_dns_updates_total', () => ['noerror', 'refused', 'notauth', 'formerr', 'notzone', 'nxdomain', 'yxdomain', 'nxrrset', 'yxrrset'].map((result) => ({ labels: { result }, value: u?.updater.results.get(result) ?? 0 })))
  add('incus_dns_update_records', () => [{ value: u?.dynamic.size ?? 0 }])
  add('incus_dns_catalog_members', () => [{ value: src.catalog?.members().length ?? 0 }])
  add('incus_dns_dnssec_signatures_total', () => [{ value: src.dnssec?.signatures() ?? 0 }])
  add('incus_dns_dnssec_online_answers_total', () => [{ value: src.dnssec?.online() ?? 0 }])
  add('incus_dns_notify_total', () => [{ labels: { result: 'sent' }, value: n?.stats.sent ?? 0 },
    { labels: { result: 'acknowledged' }, value: n?.stats.acknowledged ?? 0 }, { labels: { result: 'failed' }, value: n?.stats.failed ?? 0 }])
  return reg
}
