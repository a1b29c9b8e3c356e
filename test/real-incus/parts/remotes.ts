/**
 * Two standalone daemons in one zone through a generated incus client configuration (INCUS_DNS_INCUS_REMOTES):
 * the suite's daemon as a unix:// remote, a second one (its own bridge) as an HTTPS remote whose server
 * certificate is pinned in servercerts/, as `incus remote add` leaves it. Names from both, each answered within
 * 1 s of its address; one name on both goes to the remote named first; the second daemon stopped, the first's
 * launches still answered and the second's names kept.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { selfSigned } from '../../helpers/certs.ts'
import type { LogLine } from '../../helpers/incus.ts'
import { freePort } from '../../helpers/net.ts'
import { IMAGE, SECOND_BRIDGES, startRealIncus } from '../../helpers/real-incus.ts'
import type { RealIncus } from '../../helpers/real-incus.ts'
import { statusOf } from '../../helpers/server.ts'
import type { TestServer } from '../../helpers/server.ts'
import type { RealEnv } from '../real-incus.test.ts'
import { rdata } from '../../helpers/answers.ts'
import { launchAndCheck, msUntil, S, startDns } from './common.ts'

export function remoteTests(env: RealEnv): void {
  describe('two standalone daemons in one zone (INCUS_DNS_INCUS_REMOTES)', () => {
    let second: RealIncus
    let dns: TestServer
    let lines: LogLine[]
    const ra: { v4?: string } = {}
    beforeAll(async () => {
      second = await startRealIncus(SECOND_BRIDGES)
      const port = await freePort()
      await second.incus(['config', 'set', 'core.https_address', `127.0.0.1:${port}`])
      const client = selfSigned('incus-dns-remotes')
      await second.incus(['config', 'trust', 'add-certificate', client.certFile])
      const conf = mkdtempSync(join(env.real.dir, 'incus-conf-'))
      mkdirSync(join(conf, 'servercerts'))
      writeFileSync(join(conf, 'servercerts', 'two.crt'), readFileSync(join(second.dir, 'data', 'server.crt')))
      writeFileSync(join(conf, 'client.crt'), client.cert)
      writeFileSync(join(conf, 'client.key'), client.key)
      writeFileSync(join(conf, 'config.yml'), `remotes:\n  one:\n    addr: unix://${env.real.socket}\n  two:\n    addr: https://127.0.0.1:${port}\n    protocol: incus\n    public: false\n`)
      ;({ dns, lines } = await startDns(env.real, ['--incus-remotes', 'one,two', '--incus-conf', conf]))
      await msUntil(async () => dns.remotes.every((s) => s.ready && s.eventsConnected), 15_000, 'both remotes synced, both event streams')
    }, 180_000)
    afterAll(async () => {
      await dns?.stop()
      await env.real.incus(['delete', '--force', 'ra', 'ra2']).catch(() => '')
      await second?.stop()
    }, 180_000)

    it('names from both servers, each answered within 1 s of its address', async () => {
      const a = await launchAndCheck(env.real, dns.port, 'ra', { image: IMAGE, lines })
      ra.v4 = a.ipv4.address as string
      const b = await launchAndCheck(second, dns.port, 'rb', { image: IMAGE })
      expect(b.ipv4.address).toMatch(/^10\.251\.73\./)
      expect((await statusOf(dns)).remotes.map((r) => [r.remote, r.connected])).toEqual([['one', true], ['two', true]])
    }, 90_000)

    it('one name on both servers goes to the remote named first; the other is shown on the status page', async () => {
      await second.incus(['config', 'set', 'rb', 'user.dns.hostname=shared'])
      await env.real.incus(['config', 'set', 'ra', 'user.dns.hostname=shared'])
      await msUntil(async () => (await rdata(dns.port, `shared.${S}`)).join() === ra.v4, 1000, 'shared answers ra (remote one)')
      const row = (await statusOf(dns)).instances.find((r) => r.instance === 'two:default/rb')
      expect(row).toMatchObject({ state: 'name conflict', detail: `shared.${S} is answered for one:default/ra (its remote comes first in INCUS_DNS_INCUS_REMOTES)` })
    }, 30_000)

    it("the second daemon stopped: the first's launches are still answered, the second's names kept", async () => {
      await second.stopDaemon()
      await msUntil(async () => lines.some((l) => l.remote === 'two' && l.msg === 'event stream down; reconnecting'), 10_000, 'remote two down')
      await launchAndCheck(env.real, dns.port, 'ra2', { image: IMAGE, lines })
      await dns.remotes[1]?.sync()
      expect(await rdata(dns.port, `shared.${S}`)).toEqual([ra.v4])
      expect((await statusOf(dns)).instances.find((r) => r.instance === 'two:default/rb')?.ipv4).toMatch(/^10\.251\.73\./)
      expect((await statusOf(dns)).remotes.find((r) => r.remote === 'two')?.connected).toBe(false)
      await second.startDaemon() // for its teardown
    }, 90_000)
  })
}
