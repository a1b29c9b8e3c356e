/**
 * Incus over HTTPS with client certificates (mTLS): a trusted certificate syncs and follows events over wss;
 * an untrusted one, or a server certificate our CA does not vouch for, fails with words a user can act on,
 * while the DNS server keeps serving its zone files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SimIncus } from '../../src/sim/server.ts'
import { havePeer } from '../helpers/binaries.ts'
import { selfSigned } from '../helpers/certs.ts'
import type { CertFiles } from '../helpers/certs.ts'
import { dig } from '../helpers/dig.ts'
import { startWithIncus } from '../helpers/incus.ts'
import { waitFor } from '../helpers/net.ts'

const ZONES = new URL('../../zones/', import.meta.url).pathname
const S = 'incus.example.org'

describe.skipIf(!havePeer('openssl', 'openssl') || !havePeer('dig', 'bind9-dnsutils'))('Incus over HTTPS with client certificates', () => {
  let sim: SimIncus
  let port: number
  let server: CertFiles
  let client: CertFiles
  let stranger: CertFiles
  let otherCa: CertFiles
  const stops: (() => Promise<void>)[] = []

  beforeAll(async () => {
    server = selfSigned('incus-sim', 'DNS:incus-sim,IP:127.0.0.1')
    client = selfSigned('incus-dns')
    stranger = selfSigned('stranger')
    otherCa = selfSigned('other-ca')
    sim = new SimIncus()
    sim.trusted.push(client.der)
    sim.launch({ name: 'web', ipv4: '10.42.0.15' })
    port = await sim.listenHttps({ key: server.key, cert: server.cert })
  })
  afterAll(async () => { for (const s of stops) await s(); await sim?.close() })

  const start = async (cert: CertFiles, ca: string, extra: string[] = []) => {
    const started = await startWithIncus(ZONES, ['--incus-url', `https://127.0.0.1:${port}`, '--incus-tls-cert', cert.certFile,
      '--incus-tls-key', cert.keyFile, '--incus-tls-ca', ca, '--suffix', S, '--poll-interval', '60s', ...extra])
    stops.push(() => started.server.stop())
    return started
  }

  it('with a trusted client certificate: syncs, and events over wss drive answers', async () => {
    const { server: dns } = await start(client, server.certFile)
    await waitFor(() => dns.incus?.ready === true, 5000)
    expect((await dig('127.0.0.1', dns.port, `web.${S}`, 'A')).answer).toEqual([`web.${S}. 30 IN A 10.42.0.15`])
    await waitFor(() => dns.incus?.eventsConnected === true, 5000)
    sim.launch({ name: 'tls-new', ipv4: '10.42.0.150' })
    await waitFor(async () => (await dig('127.0.0.1', dns.port, `tls-new.${S}`, 'A')).answer.length === 1, 5000)
    expect(sim.requests.some((r) => r.startsWith('GET /1.0/events?type=lifecycle&all-projects=true (websocket)'))).toBe(true)
  })

  it('with an untrusted client certificate: says to trust it, and keeps serving zone files', async () => {
    const { server: dns, lines } = await start(stranger, server.certFile)
    await waitFor(() => (dns.incus?.stats.syncErrors ?? 0) > 0, 5000)
    expect(dns.incus?.ready).toBe(false)
    const failure = lines.find((l) => l.msg === 'Incus sync failed; keeping the last good records')
    expect(failure?.err).toBe(`Incus at https://127.0.0.1:${port} does not trust our client certificate ${stranger.certFile}; trust it: incus config trust add-certificate ${stranger.certFile}`)
    expect(failure?.code).toBe('INCUS_DNS_ERR_INCUS_AUTH')
    expect((await dig('127.0.0.1', dns.port, 'web.example.org', 'A')).answer).toEqual(['web.example.org. 3600 IN A 192.0.2.80'])
    expect(lines.some((l) => l.msg === 'event stream down; reconnecting' && String(l.reason).includes('403 not authorized'))).toBe(true)
  })

  it("with the wrong CA: says Incus's certificate is not the one we trust", async () => {
    const { server: dns, lines } = await start(client, otherCa.certFile)
    await waitFor(() => (dns.incus?.stats.syncErrors ?? 0) > 0, 5000)
    const failure = lines.find((l) => l.msg === 'Incus sync failed; keeping the last good records')
    expect(String(failure?.err)).toMatch(/^Incus's certificate is (self-signed and not the one in|not signed by) .*other-ca\.crt.*; (set|point) INCUS_DNS_INCUS_TLS_CA/)
    expect(failure?.code).toBe('INCUS_DNS_ERR_INCUS_UNREACHABLE')
  })

  it('with the wrong server name: says which setting fixes it', async () => {
    const { server: dns, lines } = await start(client, server.certFile, ['--incus-tls-server-name', 'not-incus.example.org'])
    await waitFor(() => (dns.incus?.stats.syncErrors ?? 0) > 0, 5000)
    const failure = lines.find((l) => l.msg === 'Incus sync failed; keeping the last good records')
    expect(String(failure?.err)).toContain('INCUS_DNS_INCUS_TLS_SERVER_NAME')
  })
})
