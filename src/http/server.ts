/**
 * @module http/server
 * The HTTP side port (node:http): /metrics (Prometheus text), /healthz (the process answers), /readyz
 * (listening, and the first Incus sync done or Incus not configured), /zone (the live records as JSON, each
 * with its source), / (the status page, status.ts) and /status.json (its data).
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { ListenError } from '../errors.ts'
import { formatAddress } from '../address.ts'
import type { ListenAddress } from '../address.ts'
import { statusPage } from './status.ts'
import type { Status } from './status.ts'

export interface HttpRoutes {
  readonly registry: Registry
  /** null when ready; else why not, for the 503 body. */
  readonly notReady: () => string | null
  /** /zone: the default view's records, or `view`'s (split horizon); null for a view that does not exist. */
  readonly zoneDump: (view?: string) => unknown
  /** The views /zone?view= takes (none without INCUS_DNS_VIEWS). */
  readonly viewNames?: () => readonly string[]
  readonly status: () => Status
}

export interface HttpServer {
  readonly address: ListenAddress
  close(): Promise<void>
}

export async function startHttp(at: ListenAddress, routes: HttpRoutes, log: Logger): Promise<HttpServer> {
  const server = http.createServer((req, res) => {
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'Content-Type': 'application/json' })
      // A quantile past a histogram's last bucket is Infinity: '+Inf', as Prometheus names that bucket (JSON has no Infinity).
      res.end(JSON.stringify(body, (_k, v: unknown) => (v === Infinity ? '+Inf' : v)) + '\n')
    }
    const [path, search] = (req.url ?? '/').split('?')
    if (req.method !== 'GET' && req.method !== 'HEAD') { json(405, { error: 'only GET' }); return }
    switch (path) {
      case '/metrics':
        routes.registry.metrics().then((text) => {
          res.writeHead(200, { 'Content-Type': routes.registry.contentType })
          res.end(text)
        }, (err: unknown) => { log.error({ err }, 'metrics failed'); json(500, { error: 'metrics failed' }) })
        return
      case '/healthz':
        json(200, { status: 'ok' })
        return
      case '/readyz': {
        const why = routes.notReady()
        json(why === null ? 200 : 503, why === null ? { status: 'ready' } : { status: 'not ready', reason: why })
        return
      }
      case '/zone': {
        const view = new URLSearchParams(search ?? '').get('view') ?? undefined
        const dump = routes.zoneDump(view)
        if (dump === null) json(404, { error: `no view ${view ?? ''}`, views: ['default', ...(routes.viewNames?.() ?? [])] })
        else json(200, dump)
        return
      }
      case '/':
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' })
        res.end(statusPage(routes.status()))
        return
      case '/status.json':
        json(200, routes.status())
        return
      default:
        json(404, { error: 'not found', paths: ['/', '/status.json', '/metrics', '/healthz', '/readyz', '/zone'] })
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new ListenError(
      `cannot listen on HTTP ${formatAddress(at)}: ${err.code ?? err.message} (INCUS_DNS_HTTP_LISTEN; empty turns it off)`, { cause: err })))
    server.listen(at.port, at.host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  return {
    address: { host: at.host, port },
    close: () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections() }),
  }
}
