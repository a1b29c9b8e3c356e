/**
 * Differential for live names: incus-dns publishes a compose stack from the simulated Incus (services, health,
 * SRV, an instance holding a service's name), and knotd serves a zone file written by hand with the records
 * docs/services.md says those labels make. Every query goes to both: the same rcode, flags and sections.
 * Only the SOA serial is left out: a live zone's serial moves with every change, the file's does not.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SimIncus } from '../../src/sim/server.ts'
import { havePeer } from '../helpers/binaries.ts'
import { simSocket, startWithIncus } from '../helpers/incus.ts'
import { startKnotd } from '../helpers/knotd.ts'
import type { Knotd } from '../helpers/knotd.ts'
import { waitFor } from '../helpers/net.ts'
import type { TestServer } from '../helpers/server.ts'
import { expectSameAsKnot } from './differential.ts'

const S = 'incus.example.org'
/** The suffix zone's own records: a zone file for it gives both servers the same SOA and NS. */
const HEAD = `$ORIGIN ${S}.
@ 3600 IN SOA ns1 hostmaster 1 3600 600 86400 300
@ 3600 IN NS ns1
ns1 3600 IN A 127.0.0.1
`
/** What the labels below should publish, written out by hand (TTL 30, the instance TTL). */
const EXPECTED = `${HEAD}
web-1 30 IN A 10.42.0.11
web-1 30 IN AAAA fd42:4c81:5770:1eaf::11
web-2 30 IN A 10.42.0.12
web-2 30 IN AAAA fd42:4c81:5770:1eaf::12
web-3 30 IN A 10.42.0.13
web-3 30 IN AAAA fd42:4c81:5770:1eaf::13
; the service: web-3 is unhealthy, so withheld
web 30 IN A 10.42.0.11
web 30 IN A 10.42.0.12
web 30 IN AAAA fd42:4c81:5770:1eaf::11
web 30 IN AAAA fd42:4c81:5770:1eaf::12
_http._tcp.web 30 IN SRV 0 1 8080 web-1
_http._tcp.web 30 IN SRV 10 5 8080 web-2
_http._tcp.web-1 30 IN SRV 0 1 8080 web-1
_http._tcp.web-2 30 IN SRV 10 5 8080 web-2
_http._tcp.web-3 30 IN SRV 0 1 8080 web-3
; both replicas of dns answer both protocols
dns-1 30 IN A 10.42.0.21
dns-2 30 IN A 10.42.0.22
dns 30 IN A 10.42.0.21
dns 30 IN A 10.42.0.22
_dns._udp.dns 30 IN SRV 0 1 53 dns-1
_dns._udp.dns 30 IN SRV 0 1 53 dns-2
_dns._tcp.dns 30 IN SRV 0 1 53 dns-1
_dns._tcp.dns 30 IN SRV 0 1 53 dns-2
_dns._udp.dns-1 30 IN SRV 0 1 53 dns-1
_dns._tcp.dns-1 30 IN SRV 0 1 53 dns-1
_dns._udp.dns-2 30 IN SRV 0 1 53 dns-2
_dns._tcp.dns-2 30 IN SRV 0 1 53 dns-2
; the instance api holds the name its namesake service wants; api-1's SRV stays under its own name
api 30 IN A 10.42.0.30
api-1 30 IN A 10.42.0.31
_http._tcp.api-1 30 IN SRV 0 1 80 api-1
`

const compose = (service: string, extra: Record<string, string> = {}): Record<string, string> =>
  ({ 'user.label.incus-compose.project': 'shop', 'user.label.incus-compose.service': service, ...extra })

const QUERIES: [string, string][] = [
  [`web.${S}`, 'A'], [`web.${S}`, 'AAAA'], [`web.${S}`, 'TXT'], [`web.${S}`, 'SRV'],
  [`_http._tcp.web.${S}`, 'SRV'], [`_http._tcp.web.${S}`, 'A'], [`_tcp.web.${S}`, 'SRV'], [`_smtp._tcp.web.${S}`, 'SRV'],
  [`_http._tcp.web-1.${S}`, 'SRV'], [`_http._tcp.web-2.${S}`, 'SRV'], [`_http._tcp.web-3.${S}`, 'SRV'], [`_http._udp.web-3.${S}`, 'SRV'],
  [`web-3.${S}`, 'A'], [`dns.${S}`, 'A'], [`_dns._udp.dns.${S}`, 'SRV'], [`_dns._tcp.dns.${S}`, 'SRV'], [`_dns._tcp.dns-2.${S}`, 'SRV'],
  [`api.${S}`, 'A'], [`_http._tcp.api.${S}`, 'SRV'], [`_http._tcp.api-1.${S}`, 'SRV'], [`nothere.${S}`, 'SRV'],
]

describe.skipIf(!havePeer('knotd', 'knot') || !havePeer('dig', 'bind9-dnsutils'))('live services and SRV vs knotd serving the same records', () => {
  let sim: SimIncus
  let server: TestServer
  let knot: Knotd
  beforeAll(async () => {
    const ours = mkdtempSync(join(tmpdir(), 'incus-dns-svc-'))
    writeFileSync(join(ours, `${S}.zone`), HEAD)
    const theirs = mkdtempSync(join(tmpdir(), 'incus-dns-svc-knot-'))
    writeFileSync(join(theirs, `${S}.zone`), EXPECTED)
    const s = await simSocket()
    sim = s.sim
    const srv = (i: number): Record<string, string> => ({ 'user.dns.srv.http': i === 2 ? 'tcp/8080/10/5' : 'tcp/8080' })
    for (const i of [1, 2, 3]) {
      sim.launch({ name: `web-${i}`, ipv4: `10.42.0.1${i}`, ipv6: `fd42:4c81:5770:1eaf::1${i}`, config: compose('web', { ...srv(i), ...(i === 3 ? { 'user.healthcheck.status': 'unhealthy' } : {}) }) })
    }
    for (const i of [1, 2]) sim.launch({ name: `dns-${i}`, ipv4: `10.42.0.2${i}`, ipv6: null, config: compose('dns', { 'user.dns.srv.dns': 'udp/53,tcp/53' }) })
    sim.launch({ name: 'api', ipv4: '10.42.0.30', ipv6: null })
    sim.launch({ name: 'api-1', ipv4: '10.42.0.31', ipv6: null, config: compose('api', { 'user.dns.srv.http': 'tcp/80' }) })
    server = (await startWithIncus(ours, ['--incus-socket', s.socket, '--suffix', S, '--poll-interval', '60s', '--reverse-zones', 'off'])).server
    await waitFor(() => server.incus?.ready === true, 5000)
    knot = await startKnotd(theirs, [{ domain: S, file: `${S}.zone` }])
  }, 30_000)
  afterAll(async () => { await server?.stop(); await knot?.stop(); await sim?.close() })

  it.each(QUERIES)('%s %s: same answer as knotd', async (qname, qtype) => {
    const [ours] = await expectSameAsKnot(server.port, knot.port, qname, qtype)
    expect(ours.answer.length + ours.authority.length).toBeGreaterThan(0) // every case answers something to compare
  })
})
