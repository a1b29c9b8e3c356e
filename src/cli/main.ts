/**
 * @module cli/main
 * Flags and environment → config → zone store, zone files, DNS listeners, the Incus sources
 * (cli/incus-sources.ts) and the side port (cli/side-port.ts) → signals; one teardown for every way it ends
 * (cli/teardown.ts). The only module that wires the others together.
 */
import { readFileSync } from 'node:fs'
import { Acl, formatAddress } from '../address.ts'
import { incusConnection } from '../config/incus.ts'
import { loadConfig, helpText } from '../config/load.ts'
import { incusRemotes } from '../config/remotes.ts'
import type { Config } from '../config/settings.ts'
import type { ForwardHook } from '../dns/answer.ts'
import { makeIdentity } from '../dns/identity.ts'
import { Rrl } from '../dns/rrl.ts'
import { startDnsServer } from '../dns/server.ts'
import type { DnsServer } from '../dns/server.ts'
import { DnsStats } from '../dns/stats.ts'
import { ViewTable } from '../dns/view-table.ts'
import { startWorkers } from '../dns/workers.ts'
import type { WorkerPool } from '../dns/workers.ts'
import { ConfigErrors, IncusDnsError } from '../errors.ts'
import type { Forwarder } from '../forward/forwarder.ts'
import type { History } from '../http/history.ts'
import type { HttpServer } from '../http/server.ts'
import type { IncusSource } from '../incus/source.ts'
import { createLogger } from '../log.ts'
import type { Logger } from '../log.ts'
import { transferHook } from '../xfr/hook.ts'
import type { TransferStats } from '../xfr/hook.ts'
import { Notifier } from '../xfr/notify.ts'
import { Catalog } from '../zone/catalog.ts'
import { readZoneDir, ZoneFileSource } from '../zone/file/source.ts'
import { ZoneStore } from '../zone/store.ts'
import type { ZoneWriter } from '../zone/zone-writer.ts'
import { ViewStores } from '../zone/view-stores.ts'
import { catalogFileProblem, check, suffixProblem, zonesDirProblem } from './check.ts'
import { cookieKeeper } from './cookies.ts'
import type { CookieKeeper } from './cookies.ts'
import { handoffHook } from './handoff.ts'
import { dnssecStatus, dsLines, keyDirOf, makeSigner, refreshSignatures } from './dnssec.ts'
import { collectAfterBulkChange } from './heap.ts'
import { startIncusSources } from './incus-sources.ts'
import type { StartOverrides } from './incus-sources.ts'
import { startSidePort } from './side-port.ts'
import { Teardown } from './teardown.ts'
import { makeUpdates } from './updates.ts'
import type { Updates } from './updates.ts'
import { viewHost } from './view-host.ts'

export interface Running {
  readonly config: Config
  /** The default view's store (the only one without INCUS_DNS_VIEWS). */
  readonly store: ZoneStore
  /** The views' stores, or null without INCUS_DNS_VIEWS. */
  readonly viewStores: ViewStores | null
  /** The hot path's views: the default one, and those INCUS_DNS_VIEWS resolves to. */
  readonly viewTable: ViewTable
  readonly server: DnsServer
  readonly stats: DnsStats
  readonly log: Logger
  /** The Incus source (with several remotes, the first; `remotes` has them all). */
  readonly incus: IncusSource | null
  /** Every Incus source: one per remote with INCUS_DNS_INCUS_REMOTES, else the one (or none). */
  readonly remotes: readonly IncusSource[]
  /** DNS cookies and their secret's keeper; null with INCUS_DNS_COOKIES=off. */
  readonly cookies: CookieKeeper | null
  /** The last 15 minutes, sampled every 10 s, for the status page's graphs; null without the HTTP port. */
  readonly history: History | null
  /** The forwarder, or null when INCUS_DNS_FORWARDERS is empty. */
  readonly forwarder: Forwarder | null
  /** The HTTP side port, or null when INCUS_DNS_HTTP_LISTEN is empty. */
  readonly http: HttpServer | null
  /** Why it is not ready (readiness), or null when it is. */
  notReady(): string | null
  readonly transferStats: TransferStats
  /** The catalog zone (INCUS_DNS_CATALOG), or null without one. */
  readonly catalog: Catalog | null
  /** Dynamic updates (the updater and the records it made), or null without INCUS_DNS_UPDATE_KEYS. */
  readonly updates: Updates | null
  readonly notifier: Notifier | null
  /** Re-reads the zone files; a broken file keeps the previous version of every zone. */
  reloadZones(): Promise<void>
  stop(graceMs?: number): Promise<void>
}

/**
 * Starts everything, in the order that keeps answers right: the zones, then DNS (zone files answer even while
 * Incus is down), then Incus, then the side port. Throws IncusDnsError (config, zone file, listen) with a
 * message for the user, having stopped whatever had started.
 */
export async function start(config: Config, log: Logger, overrides: StartOverrides = {}): Promise<Running> {
  // Several servers (INCUS_DNS_INCUS_REMOTES) or one (a socket, or a URL for one server or cluster).
  const remotes = incusRemotes(config)
  const connection = remotes.length > 0 ? null : incusConnection(config)
  const unnamed = suffixProblem(connection !== null || remotes.length > 0, connection !== null ? [{ remote: null, suffix: config.suffix }] : remotes.map((r) => ({ remote: r.name, suffix: r.suffix })))
  if (unnamed !== null) log.warn(unnamed)
  const stats = new DnsStats()
  let notifier: Notifier | null = null
  let catalog: Catalog | null = null
  // DNSSEC: every store compiles its signed answers through one signer (cli/dnssec.ts).
  const signer = config.dnssec ? makeSigner(config) : null
  const store = new ZoneStore({
    ...(signer === null ? {} : { signer }),
    onShadow: (name, type, winner, loser) => log.warn({ name, type, winner, loser }, 'zone file records win over live ones for this name and type'),
    onZoneChanged: (apex) => notifier?.zoneChanged(apex),
    onZonesChanged: () => catalog?.zonesChanged(),
    onOversize: (name, type, kept, total) => log.warn({ name, type, kept, total }, `an RRset too big for any DNS message: answered with the first ${kept} of its ${total} records and TC set; split it over several names`),
    journalSize: config.ixfrJournal,
  })
  // Split horizon: a store per view, written through `writer` for what they share (zone/view-stores.ts).
  const viewStores = config.views.length > 0 ? new ViewStores(store, () => new ZoneStore({ journalSize: 0, ...(signer === null ? {} : { signer }) })) : null
  const writer: ZoneWriter = viewStores ?? store
  if (config.catalog !== null) catalog = new Catalog({ apex: config.catalog, store, writer, log: log.child({ mod: 'catalog' }) })
  const viewTable = new ViewTable(store.table)
  viewTable.setSubnetSources(config.viewsEcs)
  if (config.viewsEcs.length > 0) log.info({ resolvers: config.viewsEcs }, 'EDNS Client Subnet from these resolvers picks the view')
  const teardown = new Teardown()
  try {
    if (config.notify.length > 0) {
      const n = new Notifier({ store, targets: config.notify, key: config.tsigKey, log: log.child({ mod: 'notify' }) })
      notifier = n
      teardown.add('notify', () => n.stop())
    }
    const transferStats: TransferStats = { axfr: 0, ixfr: 0, refused: 0, badTsig: 0 }
    const transfer = transferHook({ store, acl: config.xfrAllow === null ? null : new Acl(config.xfrAllow), key: config.tsigKey, log: log.child({ mod: 'xfr' }) }, transferStats)
    const files = new ZoneFileSource()
    /** After a bulk change: one full garbage collection, when the command enabled it (cli/heap.ts). */
    const collected = (after: string): void => {
      const ms = collectAfterBulkChange()
      if (ms !== null) log.debug({ ms: Math.round(ms) }, `heap collected after a bulk change (${after})`)
    }
    const loadZones = async (): Promise<void> => {
      const parsed = await readZoneDir(config.zonesDir).catch((err: NodeJS.ErrnoException) => {
        // The folder itself (ENOENT, ENOTDIR, ENAMETOOLONG, EACCES...): a setting to fix, said as check says it.
        if (err.path === config.zonesDir) throw new IncusDnsError('INCUS_DNS_ERR_CONFIG', zonesDirProblem(config.zonesDir, err.code))
        throw err
      })
      const clash = catalogFileProblem(parsed, config.catalog)
      if (clash !== null) throw new IncusDnsError('INCUS_DNS_ERR_CONFIG', clash)
      files.apply(writer, parsed)
      log.info({ dir: config.zonesDir, zones: parsed.map((z) => ({ zone: z.apex, records: z.records.length, file: z.file })) }, 'zone files loaded')
      collected('zone files loaded')
    }
    await loadZones()
    const updates = makeUpdates(config, store, writer, log)
    if (updates !== null) teardown.add('updates', () => updates.dynamic.stop())
    if (signer !== null) {
      const stop = refreshSignatures(signer, () => [store, ...(viewStores?.named.values() ?? [])], log.child({ mod: 'dnssec' }))
      teardown.add('dnssec', stop)
      log.info({ keys: keyDirOf(config), zones: store.zones().map((z) => ({ zone: z, keys: signer.signingKeys(z).map((k) => k.keyTag) })), signatures: signer.made }, 'DNSSEC: zones signed')
    }
    const onlineCounts = { online: 0 }
    const handoff = handoffHook({ transfer, updater: updates?.updater ?? null, viewTable, signer, counts: onlineCounts, keys: [...(config.tsigKey === null ? [] : [config.tsigKey]), ...config.updateKeys] })
    const forwarder = config.forwarders.length > 0 ? await startForwarder(config, log) : null
    const forward = forwarder?.hook
    // Read once: the status page is served per request, and package.json does not change while we run.
    const who = { identity: config.identity, version: `incus-dns ${version()}` }
    const identity = makeIdentity(who.identity, who.version)
    const keeper = cookieKeeper(config, log)
    if (keeper !== null) teardown.add('cookies', () => keeper.stop())
    const cookies = keeper?.cookies ?? null
    const rrlOptions = config.rrlRate === 0 ? null : {
      rate: config.rrlRate, slip: config.rrlSlip, ipv4Prefix: config.rrlIpv4Prefix, ipv6Prefix: config.rrlIpv6Prefix, logOnly: config.rrlLogOnly, exempt: config.rrlExempt,
    }
    const rrl = rrlOptions === null ? null : new Rrl({ ...rrlOptions, exempt: rrlOptions.exempt.length === 0 ? null : new Acl(rrlOptions.exempt) })
    if (rrlOptions !== null) log.info(rrlOptions, 'response rate limiting (UDP)')
    const server = await startDnsServer({
      listen: config.listen, viewTable, stats, log, forward, handoff, identity, cookies, rrl, reusePort: config.workers > 1,
      tcpIdleTimeoutMs: config.tcpIdleTimeout, tcpMaxConnections: config.tcpMaxConnections,
      tcpMaxPerSource: config.tcpMaxPerSource, tcpPressureIdleTimeoutMs: config.tcpPressureIdleTimeout,
    })
    teardown.add('dns', (graceMs) => server.close(graceMs))
    let workers: WorkerPool | null = null
    if (config.workers > 1) {
      const pool = await startWorkers({ count: config.workers - 1, listen: server.addresses, sockets: server.udpSockets, viewTable, stats, forward, handoff, log, identity, cookies, rrl: rrlOptions })
      workers = pool
      teardown.add('workers', () => pool.close())
    }
    if (keeper !== null) keeper.onRotate = () => workers?.cookiesChanged()
    if (forwarder !== null) log.info({ upstreams: forwarder.forwarder.upstreams.map((u) => u.label), allow: config.forwardAllow, cache: config.cacheSize }, 'forwarding names outside our zones')
    log.info({ listen: server.addresses.map(formatAddress) }, 'answering DNS')

    // The DNS server is up before Incus is asked anything: zone files serve even when Incus is down.
    const incus = await startIncusSources({
      config, log, connection, remotes, zone: writer, collected, overrides,
      viewHost: viewStores === null ? null : viewHost({ specs: config.views, stores: viewStores, table: viewTable, changed: () => workers?.viewsChanged() }),
    })
    teardown.add('incus', () => incus.stop())
    // The catalog once every source has said which zones it serves: earlier, its consumers would purge the rest.
    if (catalog !== null) {
      const c = catalog
      void incus.settled().then(() => c.start())
    }
    const sources = incus.sources
    // The records updates made go back into their zones: the zone files', and the Incus suffix zone, made with its source.
    await updates?.dynamic.load()
    /** Queries per view over every thread; nothing without INCUS_DNS_VIEWS. */
    const viewQueries = (): Map<string, number> =>
      viewStores === null ? new Map() : workers?.viewQueries() ?? new Map(viewTable.all.map((v) => [v.name, v.queries]))
    const side = config.httpListen === null ? null : await startSidePort({
      at: config.httpListen, log, viewStores, notReady: () => incus.notReady(), remoteNames: remotes.map((r) => r.name),
      metrics: { dns: () => workers?.totals() ?? stats, store, incus: sources[0] ?? null, remotes: sources, forwarder: forwarder?.forwarder ?? null, transfers: transferStats, notifier, viewQueries, updates, catalog,
        dnssec: signer === null ? null : { signatures: () => signer.made, online: () => onlineCounts.online } },
      status: {
        subnetSources: config.viewsEcs, server: who, catalog,
        dnssec: signer === null ? null : { status: () => dnssecStatus(signer, keyDirOf(config) ?? '', () => store.zones(), () => [store, ...(viewStores?.named.values() ?? [])].reduce((n, s) => n + s.signingPending, 0)) },
      },
    })
    if (side !== null) teardown.add('http', () => side.stop())
    return {
      config, store, viewStores, viewTable, catalog, server, stats, log, incus: sources[0] ?? null, remotes: sources, cookies: keeper, history: side?.history ?? null,
      forwarder: forwarder?.forwarder ?? null, http: side?.http ?? null, notReady: () => incus.notReady(), transferStats, notifier, updates,
      async reloadZones() {
        try {
          await loadZones()
          for (const s of sources) s.resettle()
        } catch (err) {
          log.error({ err: err instanceof IncusDnsError ? err.message : err }, 'zone reload failed; still serving the previous zones')
        }
      },
      // Stop taking queries first, let TCP connections finish what they sent, then let go of Incus (cli/teardown.ts).
      stop: (graceMs = 2000) => teardown.run(graceMs),
    }
  } catch (err) {
    await teardown.run(0)
    throw err
  }
}

/**
 * Forwarding, loaded only when configured: undici, ws and lru-cache are ~40 MB of RSS that a zone-files-only
 * server does not need (bench/README.md, idle memory).
 */
async function startForwarder(config: Config, log: Logger): Promise<{ forwarder: Forwarder; hook: ForwardHook }> {
  const [{ Forwarder: ForwarderClass }, { forwardHook }, { upstream }] = await Promise.all([
    import('../forward/forwarder.ts'), import('../forward/hook.ts'), import('../forward/upstream.ts')])
  const forwarder = new ForwarderClass({
    upstreams: config.forwarders.map((u) => upstream(u.host, u.port)),
    timeoutMs: config.forwardTimeout, cacheEntries: config.cacheSize, cacheMaxTtl: config.cacheMaxTtl, log,
  })
  return { forwarder, hook: forwardHook(forwarder, new Acl(config.forwardAllow), (err) => log.error({ err }, 'forwarding failed unexpectedly')) }
}

/** The CLI: returns the exit code. Problems at start-up are printed as one line each on stderr. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  // `incus-dns dnssec ds [zone] [settings]`: the DS records for the parent, from the key folder (cli/dnssec.ts).
  if (argv[0] === 'dnssec') {
    const zone = argv[2] !== undefined && !argv[2].startsWith('-') ? argv[2] : null
    if (argv[1] !== 'ds') { process.stderr.write('incus-dns: usage: incus-dns dnssec ds [zone] (with INCUS_DNS_DNSSEC_KEY_DIR or INCUS_DNS_STATE_FILE as the server has them)\n'); return 2 }
    let config
    try { config = loadConfig(argv.slice(zone === null ? 2 : 3), env).config } catch (err) {
      if (!(err instanceof ConfigErrors)) throw err
      for (const p of err.problems) process.stderr.write(`incus-dns: ${p.message}\n`)
      return 2
    }
    const { lines, problem } = dsLines(config, zone)
    for (const l of lines) process.stdout.write(`${l}\n`)
    if (problem !== null) process.stderr.write(`incus-dns dnssec ds: ${problem}\n`)
    return problem === null ? 0 : 1
  }
  // `incus-dns check [...]`: the settings and the zone files, checked without serving (cli/check.ts).
  const checking = argv[0] === 'check'
  let loaded
  try {
    loaded = loadConfig(checking ? argv.slice(1) : argv, env)
  } catch (err) {
    if (!(err instanceof ConfigErrors)) throw err
    for (const p of err.problems) process.stderr.write(`incus-dns: ${p.message}\n`)
    return 2
  }
  if (loaded.help) { process.stdout.write(helpText() + '\n'); return 0 }
  if (loaded.version) { process.stdout.write(version() + '\n'); return 0 }
  if (checking) {
    const { zones, problems: found } = await check(loaded.config, env)
    // What start-up would only warn about (an INCUS_DNS_* variable that is no setting, a misspelling) is a problem here.
    const problems = [...loaded.warnings, ...found]
    for (const z of zones) process.stdout.write(`${z}\n`)
    for (const p of problems) process.stderr.write(`incus-dns check: ${p}\n`)
    return problems.length === 0 ? 0 : 1
  }
  const log = createLogger(loaded.config.logLevel)
  for (const w of loaded.warnings) log.warn(w)

  let running: Running
  try {
    running = await start(loaded.config, log)
  } catch (err) {
    if (err instanceof ConfigErrors) {
      for (const p of err.problems) process.stderr.write(`incus-dns: ${p.message}\n`)
      log.flush()
      return 2
    }
    if (!(err instanceof IncusDnsError)) throw err
    process.stderr.write(`incus-dns: ${err.message}\n`)
    log.flush()
    // A setting to fix is exit 2, as a bad value is; anything else (a zone file, a port taken) 1.
    return err.code === 'INCUS_DNS_ERR_CONFIG' ? 2 : 1
  }

  return new Promise((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'stopping')
      running.stop().then(() => { log.flush(); resolve(0) }, (err: unknown) => { log.error({ err }, 'error while stopping'); resolve(1) })
    }
    process.once('SIGTERM', () => stop('SIGTERM'))
    process.once('SIGINT', () => stop('SIGINT'))
    process.on('SIGHUP', () => { log.info('SIGHUP: reloading zone files'); void running.reloadZones() })
  })
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}
