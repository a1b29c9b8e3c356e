/**
 * @module cli/side-port
 * Starts the HTTP side port (INCUS_DNS_HTTP_LISTEN): /metrics, /healthz, /readyz, /zone and the status page,
 * with the status page's graphs, a sample every 10 s of the counters /metrics reads (http/history.ts).
 */
import type { ListenAddress } from '../address.ts'
import { formatAddress } from '../address.ts'
import { History, SAMPLE_MS } from '../http/history.ts'
import { createRegistry } from '../http/metrics.ts'
import type { MetricSources } from '../http/metrics.ts'
import { startHttp } from '../http/server.ts'
import type { HttpServer } from '../http/server.ts'
import { status } from '../http/status.ts'
import type { StatusSources } from '../http/status.ts'
import { zoneDump } from '../http/zone.ts'
import { sumLag } from '../incus/lag.ts'
import type { IncusSource } from '../incus/source.ts'
import type { Logger } from '../log.ts'
import type { ViewStores } from '../zone/view-stores.ts'

export interface SidePortOptions {
  readonly at: ListenAddress
  readonly log: Logger
  /** What /metrics reads; `remotes` are every Incus source, `incus` the first. */
  readonly metrics: MetricSources & { readonly remotes: readonly IncusSource[] }
  /** The remotes' names, in the order of `metrics.remotes` (INCUS_DNS_INCUS_REMOTES); empty for one server. */
  readonly remoteNames: readonly string[]
  /** The views' stores, for /zone?view=; null without INCUS_DNS_VIEWS. */
  readonly viewStores: ViewStores | null
  readonly notReady: () => string | null
  readonly status: Pick<StatusSources, 'subnetSources' | 'server' | 'catalog' | 'dnssec'>
}

export interface SidePort {
  readonly http: HttpServer
  /** The last 15 minutes, for the status page's graphs. */
  readonly history: History
  stop(): Promise<void>
}

export async function startSidePort(o: SidePortOptions): Promise<SidePort> {
  const { metrics: m, viewStores } = o
  const sources = m.remotes
  const history = new History(() => ({ dns: m.dns(), lag: sources.length === 0 ? null : sumLag(sources.map((s) => s.stats.lag), ['event', 'address']) }))
  history.sample()
  const sampler = setInterval(() => history.sample(), SAMPLE_MS)
  sampler.unref()
  let http: HttpServer
  try {
    http = await startHttp(o.at, {
      registry: createRegistry(m, () => o.notReady() === null),
      notReady: o.notReady,
      zoneDump: (view) => {
        if (view === undefined || view === 'default') return zoneDump(m.store, m.incus?.records ?? null)
        const of = viewStores?.store(view)
        return of === undefined ? null : zoneDump(of, m.incus?.records ?? null)
      },
      viewNames: () => [...(viewStores?.named.keys() ?? [])],
      status: () => status({
        store: m.store, incus: m.incus, history, forwarder: m.forwarder, viewQueries: m.viewQueries, ...o.status,
        remotes: sources.length > 1 ? sources.map((s, k) => ({ name: o.remoteNames[k] ?? '', source: s })) : [],
      }),
    }, o.log)
  } catch (err) {
    clearInterval(sampler)
    throw err
  }
  o.log.info({ http: formatAddress(http.address) }, 'serving /metrics, /healthz, /readyz, /zone')
  return {
    http,
    history,
    async stop() {
      await http.close()
      clearInterval(sampler)
    },
  }
}
