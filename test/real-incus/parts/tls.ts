/**
 * mTLS against the real incusd on a loopback core.https_address: a trusted certificate syncs and follows
 * events over wss; an untrusted certificate, a wrong CA and a wrong server name each fail with a line a user
 * can act on, while the zone files keep being served.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { havePeer } from '../../helpers/binaries.ts'
import { selfSigned } from '../../helpers/certs.ts'
import type { CertFiles } from '../../helpers/certs.ts'
import { freePort } from '../../helpers/net.ts'
import { IMAGE } from '../../helpers/real-incus.ts'
import type { RealEnv } from '../real-incus.test.ts'
import { rdata } from '../../helpers/answers.ts'
import { launchAndCheck, msUntil, startDns } from './common.ts'

const FAILED = 'Incus sync failed; keeping the last good records'

export function tlsTests(env: RealEnv): void {
  describe.skipIf(!havePeer('openssl', 'openssl'))('HTTPS with client certificates, on a real incusd', () => {
    let url: string
    let serverCrt: string
    let client: CertFiles
    let stranger: CertFiles
    let otherCa: CertFiles
    const stops: (() => Promise<void>)[] = []
    beforeAll(async () => {
      const port = await freePort()
      url = `https://127.0.0.1:${port}`
      await env.real.incus(['config', 'set', 'core.https_address', `127.0.0.1:${port}`])
      serverCrt = join(env.real.dir, 'data', 'server.crt')
      client = selfSigned('incus-dns')
      stranger = selfSigned('stranger')
      otherCa = selfSigned('other-ca')
      await env.real.incus(['config', 'trust', 'add-certificate', client.certFile, '--name', 'incus-dns'])
    }, 30_000)
    afterAll(async () => {
      for (const s of stops) await s()
      await env.real.incus(['config', 'unset', 'core.https_address']).catch(() => '')
    })
    const start = async (cert: CertFiles, ca: string, extra: string[] = []) => {
      const started = await startDns(env.real, ['--incus-url', url, '--incus-tls-cert', cert.certFile, '--incus-tls-key', cert.keyFile, '--incus-tls-ca', ca, ...extra])
      stops.push(() => started.dns.stop())
      return started
    }
    const firstFailure = async (lines: { msg: string; err?: unknown }[]): Promise<string> => {
      await msUntil(async () => lines.some((l) => l.msg === FAILED), 10_000, 'a sync failure')
      return String(lines.find((l) => l.msg === FAILED)?.err)
    }

    it('a trusted certificate: syncs, and events over wss drive answers', async () => {
      const { dns } = await start(client, serverCrt)
      await msUntil(async () => dns.incus?.ready === true && dns.incus.eventsConnected, 10_000, 'sync and events over HTTPS')
      await launchAndCheck(env.real, dns.port, 'tls1', { image: IMAGE })
      expect(await rdata(dns.port, 'web.example.org')).toEqual(['192.0.2.80'])
      await env.real.incus(['delete', '--force', 'tls1'])
    }, 60_000)

    it('an untrusted certificate: says to trust it', async () => {
      const { dns, lines } = await start(stranger, serverCrt)
      expect(await firstFailure(lines)).toBe(`Incus at ${url} does not trust our client certificate ${stranger.certFile}; trust it: incus config trust add-certificate ${stranger.certFile}`)
      expect(dns.incus?.ready).toBe(false)
      expect(await rdata(dns.port, 'web.example.org')).toEqual(['192.0.2.80'])
    }, 30_000)

    it("a wrong CA: says Incus's certificate is not the one we trust, and which setting fixes it", async () => {
      const { lines } = await start(client, otherCa.certFile)
      expect(await firstFailure(lines)).toMatch(/^Incus's certificate is (self-signed and not the one in|not signed by) .*other-ca\.crt.*; (set|point) INCUS_DNS_INCUS_TLS_CA/)
    }, 30_000)

    it('a wrong server name: says which setting fixes it', async () => {
      const { lines } = await start(client, serverCrt, ['--incus-tls-server-name', 'not-incus.example.org'])
      expect(await firstFailure(lines)).toMatch(/does not name the host .*INCUS_DNS_INCUS_TLS_SERVER_NAME/)
    }, 30_000)
  })
}
