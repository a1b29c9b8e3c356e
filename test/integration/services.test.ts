/**
 * Compose stacks against the simulated Incus, labelled as incus-compose labels them: a service name over its
 * replicas with dig (UDP and TCP), health changes reaching the answers through instance-updated events, the
 * all-withheld rule, SRV with additional addresses, a second stack losing the name, ic-dns's alias key, and
 * everything that applies to names: AXFR, /zone, /status.json and /metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Status } from '../../src/http/status.ts'
import type { SimIncus } from '../../src/sim/server.ts'
import { havePeer } from '../helpers/binaries.ts'
import { dig } from '../helpers/dig.ts'
import { simSocket, startWithIncus } from '../helpers/incus.ts'
import type { LogLine } from '../helpers/incus.ts'
import { waitFor } from '../helpers/net.ts'
import type { TestServer } from '../helpers/server.ts'

const ZONES = new URL('../../zones/', import.meta.url).pathname
const S = 'incus.example.org'

/** The labels incus-compose puts on every instance of a stack's service. */
const compose = (stack: string, service: string, extra: Record<string, string> = {}): Record<string, string> =>
  ({ 'user.label.incus-compose.project': stack, 'user.label.incus-compose.service': service, ...extra })

describe.skipIf(!havePeer('dig', 'bind9-dnsutils'))('compose stacks: service names, health, SRV', () => {
  let sim: SimIncus
  let server: TestServer
  let lines: LogLine[]
  const sorted = async (name: string, type = 'A', tcp = false): Promise<string[]> =>
    [...(await dig('127.0.0.1', server.port, name, type, { tcp })).answer].map((l) => l.split(/\s+/).slice(4).join(' ')).sort()
  const http = async (path: string): Promise<string> => (await fetch(`http://127.0.0.1:${server.http?.address.port}${path}`)).text()
  const metric = async (name: string): Promise<number> => Number(new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(await http('/metrics'))?.[1] ?? NaN)
  /** ms until the service answers with exactly `want` (A), polled every 5 ms. */
  const msUntil = async (want: string[], bound: number): Promise<number> => {
    const t0 = Date.now()
    await waitFor(async () => JSON.stringify(await sorted(`web.${S}`)) === JSON.stringify(want), bound, () => `web.${S} A is not ${want.join(' ')}`)
    return Date.now() - t0
  }

  beforeAll(async () => {
    const s = await simSocket()
    sim = s.sim
    for (const i of [1, 2, 3]) {
      sim.launch({ name: `web-${i}`, ipv4: `10.42.0.${10 + i}`, ipv6: `fd42:4c81:5770:1eaf::${10 + i}`, config: compose('shop', 'web', { 'user.dns.srv.http': 'tcp/8080' }) })
    }
    sim.launch({ name: 'db-1', ipv4: '10.42.0.21', config: compose('shop', 'db', { 'user.label.dns.aliases': 'postgres' }) })
    const started = await startWithIncus(ZONES, ['--incus-socket', s.socket, '--suffix', S, '--poll-interval', '60s', '--xfr-allow', '127.0.0.1/32'])
    server = started.server
    lines = started.lines
    await waitFor(() => server.incus?.ready === true, 5000)
  })
  afterAll(async () => { await server?.stop(); await sim?.close() })

  it('the service answers A and AAAA with every replica, over UDP and TCP, and each replica its own name', async () => {
    expect(await sorted(`web.${S}`)).toEqual(['10.42.0.11', '10.42.0.12', '10.42.0.13'])
    expect(await sorted(`web.${S}`, 'A', true)).toEqual(['10.42.0.11', '10.42.0.12', '10.42.0.13'])
    expect(await sorted(`web.${S}`, 'AAAA')).toEqual(['fd42:4c81:5770:1eaf::11', 'fd42:4c81:5770:1eaf::12', 'fd42:4c81:5770:1eaf::13'])
    expect(await sorted(`web-2.${S}`)).toEqual(['10.42.0.12'])
    const r = await dig('127.0.0.1', server.port, `web.${S}`, 'A')
    expect(r.flags).toContain('aa')
    expect(r.answer.every((l) => l.split(/\s+/)[1] === '30')).toBe(true) // the instance TTL
  })

  it('SRV: one per replica under the service, the targets\' addresses in additional', async () => {
    const r = await dig('127.0.0.1', server.port, `_http._tcp.web.${S}`, 'SRV')
    expect(r.rcode).toBe('NOERROR')
    expect([...r.answer].map((l) => l.split(/\s+/).slice(4).join(' ')).sort()).toEqual([1, 2, 3].map((i) => `0 1 8080 web-${i}.${S}.`))
    expect([...r.additional].map((l) => l.split(/\s+/).slice(3).join(' ')).sort()).toEqual([
      ...[1, 2, 3].map((i) => `A 10.42.0.${10 + i}`), ...[1, 2, 3].map((i) => `AAAA fd42:4c81:5770:1eaf::${10 + i}`)].sort())
    expect(await sorted(`_http._tcp.web-1.${S}`, 'SRV')).toEqual([`0 1 8080 web-1.${S}.`])
  })

  it('a replica marked unhealthy leaves the service (A and SRV) within 500 ms of the event, and comes back on healthy', async () => {
    sim.setConfig('default', 'web-2', 'user.healthcheck.status', 'unhealthy')
    const out = await msUntil(['10.42.0.11', '10.42.0.13'], 500)
    expect(await sorted(`_http._tcp.web.${S}`, 'SRV')).toEqual([`0 1 8080 web-1.${S}.`, `0 1 8080 web-3.${S}.`])
    expect(await sorted(`web-2.${S}`)).toEqual(['10.42.0.12']) // its own name answers whatever its health
    expect(await metric('incus_dns_service_replicas{state="withheld"}')).toBe(1)
    sim.setConfig('default', 'web-2', 'user.healthcheck.status', 'healthy')
    const back = await msUntil(['10.42.0.11', '10.42.0.12', '10.42.0.13'], 500)
    console.log(`simulated Incus: unhealthy left the service in ${out} ms, healthy came back in ${back} ms`)
  })

  it('every replica withheld: all are served, and the status page and a metric say so', async () => {
    for (const i of [1, 2, 3]) sim.setConfig('default', `web-${i}`, 'user.healthcheck.status', i === 2 ? 'starting' : 'unhealthy')
    await waitFor(() => server.incus?.records.services().find((r) => r.service === `web.${S}`)?.failOpen === true, 1000)
    expect(await sorted(`web.${S}`)).toEqual(['10.42.0.11', '10.42.0.12', '10.42.0.13'])
    expect(await metric('incus_dns_services_all_withheld')).toBe(1)
    const status = JSON.parse(await http('/status.json')) as Status
    const web = status.services.find((r) => r.service === `web.${S}`)
    expect(web).toMatchObject({ stack: 'shop', served: 3, failOpen: true })
    expect(web?.replicas.map((r) => [r.instance, r.health, r.served])).toEqual([['default/web-1', 'unhealthy', true], ['default/web-2', 'starting', true], ['default/web-3', 'unhealthy', true]])
    expect(await http('/')).toContain('3 of 3 (all withheld: all served)')
    for (const i of [1, 2, 3]) sim.setConfig('default', `web-${i}`, 'user.healthcheck.status', 'healthy')
    await msUntil(['10.42.0.11', '10.42.0.12', '10.42.0.13'], 1000)
    await waitFor(async () => await metric('incus_dns_services_all_withheld') === 0, 1000)
    expect(await metric('incus_dns_service_replicas{state="served"}')).toBe(4)
  })

  it("ic-dns's user.label.dns.aliases adds an alias; a service in another project is <service>.<project>.<suffix>", async () => {
    expect((await dig('127.0.0.1', server.port, `postgres.${S}`, 'A')).answer[0]).toBe(`postgres.${S}. 30 IN CNAME db-1.${S}.`)
    expect(await sorted(`db.${S}`)).toEqual(['10.42.0.21'])
    sim.launch({ name: 'api-1', project: 'staging', ipv4: '10.42.0.31', config: compose('shop', 'api') })
    await waitFor(async () => (await sorted(`api.staging.${S}`)).join() === '10.42.0.31', 2000)
  })

  it('a second stack with a service of the same name: the stack sorting first keeps it, the other is logged and shown', async () => {
    sim.launch({ name: 'zeta-web-1', ipv4: '10.42.0.41', config: compose('zeta', 'web') })
    await waitFor(() => lines.some((l) => l.msg.startsWith('two instances claim one name') && l.loser === 'default/zeta-web-1'), 2000)
    expect(await sorted(`web.${S}`)).toEqual(['10.42.0.11', '10.42.0.12', '10.42.0.13'])
    const status = JSON.parse(await http('/status.json')) as Status
    const loser = status.services.find((r) => r.service === `web.${S}`)?.replicas.find((r) => r.instance === 'default/zeta-web-1')
    expect(loser).toMatchObject({ stack: 'zeta', served: false, why: `stack 'shop' keeps web.${S} (its name sorts first)` })
    // The replica keeps its own name.
    expect(await sorted(`zeta-web-1.${S}`)).toEqual(['10.42.0.41'])
  })

  it('AXFR carries the service names and SRV records; /zone names the replicas behind them', async () => {
    const axfr = (await dig('127.0.0.1', server.port, S, 'AXFR')).raw
    for (const i of [1, 2, 3]) {
      expect(axfr).toMatch(new RegExp(`^web\\.${S.replace(/\./g, '\\.')}\\.\\s+30\\s+IN\\s+A\\s+10\\.42\\.0\\.1${i}$`, 'm'))
      expect(axfr).toMatch(new RegExp(`^_http\\._tcp\\.web\\.${S.replace(/\./g, '\\.')}\\.\\s+30\\s+IN\\s+SRV\\s+0 1 8080 web-${i}\\.`, 'm'))
    }
    const dump = JSON.parse(await http('/zone')) as { records: { name: string; type: string; instances?: string[] }[] }
    const a = dump.records.find((r) => r.name === `web.${S}` && r.type === 'A')
    expect(a?.instances).toEqual(['default/web-1', 'default/web-2', 'default/web-3', 'default/zeta-web-1'])
  })

  it('a bad SRV value publishes nothing, is logged once and shown on the status page', async () => {
    sim.setConfig('default', 'db-1', 'user.dns.srv.pg', 'tcp/notaport')
    const problem = 'user.dns.srv.pg=tcp/notaport: the port must be 1-65535; write <proto>/<port>[/<priority>/<weight>], e.g. tcp/80'
    await waitFor(() => lines.some((l) => l.msg === 'instance configuration problem' && l.problem === problem), 2000)
    expect((await dig('127.0.0.1', server.port, `_pg._tcp.db-1.${S}`, 'SRV')).rcode).toBe('NXDOMAIN')
    const status = JSON.parse(await http('/status.json')) as Status
    expect(status.instances.find((r) => r.instance === 'default/db-1')?.detail).toContain(problem)
    sim.setConfig('default', 'db-1', 'user.label.dns.aliases', 'postgres,pg') // another change: not logged again
    await waitFor(async () => (await dig('127.0.0.1', server.port, `pg.${S}`, 'A')).answer.length > 0, 2000)
    expect(lines.filter((l) => l.msg === 'instance configuration problem' && l.problem === problem)).toHaveLength(1)
  })
})
