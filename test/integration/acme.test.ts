/**
 * Real ACME clients get certificates through incus-dns (issue 25), from pebble, the ACME test CA, whose
 * DNS-01 checks ask incus-dns: lego's rfc2136 provider a wildcard (hmac-sha256), certbot's dns-rfc2136 plugin
 * a name in the Incus suffix zone (its default, hmac-md5, and its signed SOA lookup over TCP). Each client
 * cleans up after itself: no challenge record is left.
 */
import { execFile } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { X509Certificate } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SimIncus } from '../../src/sim/server.ts'
import { havePeer } from '../helpers/binaries.ts'
import { simSocket, startWithIncus } from '../helpers/incus.ts'
import { waitFor } from '../helpers/net.ts'
import { startPebble } from '../helpers/pebble.ts'
import type { Pebble } from '../helpers/pebble.ts'
import type { TestServer } from '../helpers/server.ts'

const ZONES = new URL('../../zones/', import.meta.url).pathname
const S = 'incus.example.org'
const LEGO = { name: 'lego-key', secret: Buffer.from('a secret for lego, 32 octets ok!').toString('base64') }
const CERTBOT = { name: 'certbot-key', secret: Buffer.from('certbot: hmac-md5, its default!!').toString('base64') }

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => execFile(file, args, { env: { ...process.env, ...env }, timeout: 150_000, maxBuffer: 8 << 20 },
    (err, stdout, stderr) => (err === null ? resolve(stdout + stderr) : reject(new Error(`${file}: ${stdout}${stderr}`)))))
}

/** The DNS names a PEM certificate is for. */
function sans(pem: string): string[] {
  return (new X509Certificate(pem).subjectAltName ?? '').split(', ').map((s) => s.replace(/^DNS:/, '')).sort()
}

const have = havePeer('pebble', 'pebble') && havePeer('lego', 'lego') && havePeer('certbot', 'certbot python3-certbot-dns-rfc2136')

describe.skipIf(!have)('ACME DNS-01 through incus-dns: pebble, lego and certbot', () => {
  let sim: SimIncus
  let server: TestServer
  let pebble: Pebble
  const dir = mkdtempSync(join(tmpdir(), 'idns-acme-'))
  beforeAll(async () => {
    const s = await simSocket()
    sim = s.sim
    sim.launch({ name: 'web', ipv4: '10.42.0.15' })
    ;({ server } = await startWithIncus(ZONES, ['--incus-socket', s.socket, '--suffix', S, '--poll-interval', '60s',
      '--update-keys', `hmac-sha256:${LEGO.name}:${LEGO.secret},hmac-md5:${CERTBOT.name}:${CERTBOT.secret}`]))
    await waitFor(() => server.incus?.ready === true, 5000)
    pebble = await startPebble(`127.0.0.1:${server.port}`)
  }, 30_000)
  afterAll(async () => { await pebble?.stop(); await server?.stop(); await sim?.close() })

  it('lego (rfc2136, hmac-sha256) gets a wildcard certificate', async () => {
    const t0 = Date.now()
    await run('lego', ['--server', pebble.directory, '--email', 'admin@example.org', '--accept-tos', '--dns', 'rfc2136',
      '--dns.resolvers', `127.0.0.1:${server.port}`, '--dns.disable-cp', '--domains', 'shop.example.org', '--domains', '*.shop.example.org',
      '--path', join(dir, 'lego'), 'run'], {
      RFC2136_NAMESERVER: `127.0.0.1:${server.port}`, RFC2136_TSIG_KEY: LEGO.name, RFC2136_TSIG_SECRET: LEGO.secret, RFC2136_TSIG_ALGORITHM: 'hmac-sha256.',
      RFC2136_SEQUENCE_INTERVAL: '1', RFC2136_PROPAGATION_TIMEOUT: '30', RFC2136_POLLING_INTERVAL: '1', LEGO_CA_CERTIFICATES: pebble.caFile,
    })
    const pem = readFileSync(join(dir, 'lego', 'certificates', 'shop.example.org.crt'), 'utf8')
    expect(sans(pem)).toEqual(['*.shop.example.org', 'shop.example.org'])
    expect(new X509Certificate(pem).issuer).toMatch(/Pebble Intermediate CA/)
    console.log(`lego: a wildcard certificate through incus-dns in ${Date.now() - t0} ms`)
    expect(server.updates?.dynamic.size).toBe(0) // cleaned up
    expect(server.updates?.updater.results.get('noerror')).toBeGreaterThanOrEqual(4) // two adds, two deletes
  }, 160_000)

  it('certbot (dns-rfc2136, hmac-md5) gets a certificate for a name in the Incus suffix zone', async () => {
    const creds = join(dir, 'rfc2136.ini')
    writeFileSync(creds, [`dns_rfc2136_server = 127.0.0.1`, `dns_rfc2136_port = ${server.port}`, `dns_rfc2136_name = ${CERTBOT.name}`,
      `dns_rfc2136_secret = ${CERTBOT.secret}`, 'dns_rfc2136_algorithm = HMAC-MD5', ''].join('\n'))
    chmodSync(creds, 0o600)
    const t0 = Date.now()
    await run('certbot', ['certonly', '--non-interactive', '--agree-tos', '-m', 'admin@example.org', '--server', pebble.directory,
      '--dns-rfc2136', '--dns-rfc2136-credentials', creds, '--dns-rfc2136-propagation-seconds', '1', '-d', `web.${S}`,
      '--config-dir', join(dir, 'certbot'), '--work-dir', join(dir, 'certbot-work'), '--logs-dir', join(dir, 'certbot-logs')], { REQUESTS_CA_BUNDLE: pebble.caFile })
    const pem = readFileSync(join(dir, 'certbot', 'live', `web.${S}`, 'cert.pem'), 'utf8')
    expect(sans(pem)).toEqual([`web.${S}`])
    console.log(`certbot: a certificate for web.${S} through incus-dns in ${Date.now() - t0} ms`)
    expect(server.updates?.dynamic.size).toBe(0)
  }, 160_000)
})
