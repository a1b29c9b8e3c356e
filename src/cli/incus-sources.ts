/**
 * @module cli/incus-sources
 * Starts the Incus side once the DNS server answers (zone files serve even while Incus is down): one source
 * for a socket or a URL, or one per remote with INCUS_DNS_INCUS_REMOTES sharing one set of records, each
 * with the name rules, the request budget and the views. The REST and event clients (undici, ws) are loaded
 * here only when Incus is configured: a zone-files-only server does without their memory (bench/README.md).
 */
import type { IncusConnection } from '../incus/api/connection.ts'
import type { IncusClient } from '../incus/api/client.ts'
import { formatPatterns, NameRules } from '../incus/naming/name-rules.ts'
import type { IncusSource, IncusSourceOptions } from '../incus/source.ts'
import type { ViewHost } from '../incus/view-resolver.ts'
import type { Config } from '../config/settings.ts'
import type { Remote } from '../config/remotes.ts'
import type { Logger } from '../log.ts'
import type { ZoneWriter } from '../zone/zone-writer.ts'

/** Test hooks: shorter waits than a production Incus needs. */
export type StartOverrides = Partial<Pick<IncusSourceOptions, 'addressPoll' | 'eventBackoff' | 'onBulkSync'>>

export interface IncusSources {
  /** Every Incus source: one per remote with INCUS_DNS_INCUS_REMOTES, else the one, or none when Incus is off. */
  readonly sources: readonly IncusSource[]
  /** Why it is not ready (readiness), or null when every source has synced once. */
  notReady(): string | null
  /**
   * Resolves once every source has said which zones it serves: synced once, or answering from its state file
   * (whose reverse zones are the last run's). At once when Incus is off; never while a source cannot say.
   */
  settled(): Promise<void>
  stop(): Promise<void>
}

export interface IncusSourcesOptions {
  readonly config: Config
  readonly log: Logger
  /** One server or cluster, or null with remotes (or with Incus off). */
  readonly connection: IncusConnection | null
  readonly remotes: readonly Remote[]
  /** Where instance records go: the store, or every view's store. */
  readonly zone: ZoneWriter
  readonly viewHost: ViewHost | null
  /** After a bulk change: one full garbage collection, when the command enabled it. */
  readonly collected: (after: string) => void
  readonly overrides: StartOverrides
}

export async function startIncusSources(o: IncusSourcesOptions): Promise<IncusSources> {
  const { config, log, connection, remotes } = o
  if (connection === null && remotes.length === 0) {
    log.info('Incus source off (INCUS_DNS_INCUS_SOCKET=none): serving zone files only')
    return { sources: [], notReady: () => null, settled: async () => {}, stop: async () => {} }
  }
  if (connection?.kind === 'https' && connection.skipVerify) {
    log.warn({ url: connection.url }, "INCUS_DNS_INCUS_TLS_SKIP_VERIFY=true: Incus's certificate is NOT verified; anyone on the path can pose as Incus")
  }
  const [{ IncusClient: ClientClass }, { IncusSource: SourceClass }, { RemotesRecords }, { RequestBudget }] = await Promise.all([
    import('../incus/api/client.ts'), import('../incus/source.ts'), import('../incus/naming/remotes-records.ts'), import('../incus/request-budget.ts')])
  // The name rules know each remote's suffix: instances' own names, and the other projects' homes, are below it.
  const suffixes = new Map<string, string | null>(connection !== null ? [['', config.suffix]] : remotes.map((r) => [r.name, r.suffix]))
  const records = { ttl: config.ttl, targetMode: config.targetMode, cnameTarget: config.cnameTarget, rules: new NameRules(config.projectNames, suffixes), caddyProxy: config.caddyProxy }
  if (config.projectNames.size > 0) log.info({ projects: [...config.projectNames].map(([project, p]) => `${project}=${formatPatterns(p)}`) }, 'names each project may claim (INCUS_DNS_PROJECT_NAMES)')
  const base = {
    zone: o.zone,
    viewHost: o.viewHost,
    scope: config.project === '' ? 'all' as const : { project: config.project },
    records,
    pollIntervalMs: config.pollInterval,
    reverse: config.reverseZones === 'auto' ? { mode: 'auto' as const } : config.reverseZones === 'off' ? { mode: 'off' as const } : { mode: 'list' as const, cidrs: config.reverseZones },
    onBulkSync: () => o.collected('Incus sync'),
    // One budget for requests about single instances, whatever the number of remotes.
    budget: new RequestBudget(config.incusRequestRate),
    ...o.overrides,
  }
  const map = { suffix: config.suffix, states: config.stateFilter, allAddresses: o.viewHost !== null }
  const sources: IncusSource[] = []
  const clients: IncusClient[] = []
  if (connection !== null) {
    clients.push(new ClientClass(connection))
    sources.push(new SourceClass({ ...base, client: clients[0] as IncusClient, log, map, stateFile: config.stateFile }))
  } else {
    // One source per remote, one set of records for all; each remote's state in a file of its own.
    const shared = new RemotesRecords(remotes.map((r) => r.name), records, log)
    for (const r of remotes) {
      const client = new ClientClass(r.connection)
      clients.push(client)
      sources.push(new SourceClass({
        ...base, client, log: log.child({ remote: r.name }), map: { ...map, suffix: r.suffix }, shared: shared.for(r.name),
        stateFile: config.stateFile === null ? null : `${config.stateFile}.${r.name}`,
      }))
    }
    log.info({ remotes: remotes.map((r) => ({ remote: r.name, incus: r.connection.kind === 'unix' ? r.connection.socketPath : r.connection.url, suffix: r.suffix })) }, 'Incus remotes')
  }
  for (const s of sources) s.start()
  return {
    sources,
    notReady() {
      const waiting = sources.filter((s) => !s.ready)
      if (waiting.length === 0) return null
      const which = sources.length > 1 ? ` with ${waiting.map((s) => remotes[sources.indexOf(s)]?.name ?? '').join(', ')}` : ''
      return waiting.every((s) => s.restored) ? `answering from the state file; the first Incus sync${which} has not succeeded yet` : `the first Incus sync${which} has not succeeded yet`
    },
    async settled() {
      for (const s of sources) while (!s.ready && !s.restored) await s.nextSync()
    },
    async stop() {
      for (const s of sources) await s.stop()
      for (const c of clients) await c.close()
    },
  }
}
