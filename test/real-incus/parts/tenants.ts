/**
 * A tenant on the real incusd (issue 24): a restricted project and a client certificate restricted to it
 * (`incus config trust add-certificate --restricted --projects tenant`, shared/incus-api §6.3). Through that
 * certificate alone, over HTTPS, the tenant sets the hostile keys on its own instance: the suffix apex as
 * hostname, a wildcard and another project's name as aliases, another instance's PTR as service. Nothing
 * outside `*.tenant.<suffix>` changes in the zone, and the refusals are on the status page.
 */
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ask, rdata } from '../../helpers/answers.ts'
import { havePeer } from '../../helpers/binaries.ts'
import { selfSigned } from '../../helpers/certs.ts'
import type { CertFiles } from '../../helpers/certs.ts'
import { freePort } from '../../helpers/net.ts'
import { IMAGE } from '../../helpers/real-incus.ts'
import { statusOf } from '../../helpers/server.ts'
import type { TestServer } from '../../helpers/server.ts'
import type { RealEnv } from '../real-incus.test.ts'
import { launchAndCheck, msUntil, S, startDns } from './common.ts'

interface ZoneRecord { name: string; type: string; data: unknown }

export function tenantTests(env: RealEnv): void {
  describe.skipIf(!havePeer('openssl', 'openssl') || !havePeer('curl', 'curl'))('a tenant with a restricted certificate, on a real incusd', () => {
    let dns: TestServer
    let url: string
    let tenant: CertFiles
    let serverCrt: string
    /** The tenant's own request, with its own certificate: what it may do, it does through this alone. */
    const asTenant = (method: string, path: string, body?: unknown): Promise<{ status: number; body: { error?: string; metadata?: unknown } }> => new Promise((resolve, reject) => {
      const args = ['-s', '-w', '\n%{http_code}', '--cert', tenant.certFile, '--key', tenant.keyFile, '--cacert', serverCrt, '-X', method,
        ...(body === undefined ? [] : ['-H', 'Content-Type: application/json', '-d', JSON.stringify(body)]), `${url}${path}`]
      execFile('curl', args, { timeout: 30_000 }, (err, stdout) => {
        if (err !== null) { reject(err); return }
        const i = stdout.lastIndexOf('\n')
        resolve({ status: Number(stdout.slice(i + 1)), body: JSON.parse(stdout.slice(0, i) || '{}') as { error?: string } })
      })
    })
    const zone = async (): Promise<ZoneRecord[]> => ((await (await fetch(`http://127.0.0.1:${dns.http?.address.port}/zone`)).json()) as { records: ZoneRecord[] }).records
    /** The zone outside the tenant's own names, serials aside. */
    const outsideTenant = (records: ZoneRecord[]): string[] => records.filter((r) => !r.name.endsWith(`.tenant.${S}`) && r.type !== 'SOA').map((r) => `${r.name} ${r.type} ${JSON.stringify(r.data)}`).sort()

    beforeAll(async () => {
      const incus = env.real.incus
      const port = await freePort()
      url = `https://127.0.0.1:${port}`
      await incus(['config', 'set', 'core.https_address', `127.0.0.1:${port}`])
      serverCrt = join(env.real.dir, 'data', 'server.crt')
      // The default project's images and profile (eth0 on the first bridge); a project of its own for instances.
      await incus(['project', 'create', 'tenant', '-c', 'features.images=false', '-c', 'features.profiles=false'])
      tenant = selfSigned('tenant')
      await incus(['config', 'trust', 'add-certificate', tenant.certFile, '--name', 'tenant', '--restricted', '--projects', 'tenant'])
      ;({ dns } = await startDns(env.real))
      await msUntil(async () => dns.incus?.ready === true && dns.incus.eventsConnected, 10_000, 'first sync and event stream')
    }, 60_000)
    afterAll(async () => {
      await dns?.stop()
      await env.real.incus(['delete', '--force', 'tweb', '--project', 'tenant']).catch(() => '')
      await env.real.incus(['delete', '--force', 'tdb']).catch(() => '')
      await env.real.incus(['config', 'trust', 'remove', await fingerprint(env)]).catch(() => '')
      await env.real.incus(['project', 'delete', 'tenant']).catch(() => '')
      await env.real.incus(['config', 'unset', 'core.https_address']).catch(() => '')
    }, 60_000)

    it("the tenant's hostile keys change nothing outside *.tenant.<suffix>, and the refusals show on the status page", async () => {
      const db = await launchAndCheck(env.real, dns.port, 'tdb', { image: IMAGE })
      await launchAndCheck(env.real, dns.port, 'tweb', { image: IMAGE, project: 'tenant', dnsName: `tweb.tenant.${S}` })
      const ptr = `${(db.ipv4.address as string).split('.').reverse().join('.')}.in-addr.arpa`
      // The certificate is the tenant's only: the default project is out of its reach.
      const denied = await asTenant('GET', '/1.0/instances/tdb?project=default')
      expect(denied.status, JSON.stringify(denied.body)).toBeGreaterThanOrEqual(403)
      const before = outsideTenant(await zone())
      const patched = await asTenant('PATCH', '/1.0/instances/tweb?project=tenant', {
        config: { 'user.dns.hostname': `${S}.`, 'user.dns.aliases': `*.${S}.,shop.${S}.,www`, 'user.dns.service': `${ptr}.` },
      })
      expect(patched.status, JSON.stringify(patched.body)).toBeLessThan(300)
      const ms = await msUntil(async () => (await statusOf(dns)).refusals.length === 4, 5000, 'the four refusals')
      console.log(`real incusd: a tenant's hostile keys refused ${ms} ms after its PATCH returned`)
      const s = await statusOf(dns)
      expect(s.refusals.map((r) => [r.instance, r.key, r.reason]).sort()).toEqual([
        ['tenant/tweb', 'user.dns.aliases', 'project'], ['tenant/tweb', 'user.dns.aliases', 'wildcard'],
        ['tenant/tweb', 'user.dns.hostname', 'apex'], ['tenant/tweb', 'user.dns.service', 'reverse'],
      ])
      const page = await (await fetch(`http://127.0.0.1:${dns.http?.address.port}/`)).text()
      expect(page).toContain('<h2>Names refused</h2>')
      expect(outsideTenant(await zone())).toEqual(before)
      expect((await ask(dns.port, S, 'SOA')).answer).toHaveLength(1)
      expect((await ask(dns.port, `typo.${S}`)).rcode).toBe(3)
      expect((await ask(dns.port, `shop.${S}`)).rcode).toBe(3)
      expect(await rdata(dns.port, ptr, 'PTR')).toEqual([`tdb.${S}.`])
      // What it may have, it has: its own name, and an alias below it.
      const own = await rdata(dns.port, `tweb.tenant.${S}`)
      expect(own).toHaveLength(1)
      expect(await rdata(dns.port, `www.tenant.${S}`)).toEqual(own)
    }, 90_000)
  })
}

/** The tenant certificate's fingerprint as the trust store lists it. */
async function fingerprint(env: RealEnv): Promise<string> {
  const list = JSON.parse(await env.real.incus(['config', 'trust', 'list', '--format', 'json'])) as { name: string; fingerprint: string }[]
  return list.find((c) => c.name === 'tenant')?.fingerprint ?? ''
}
