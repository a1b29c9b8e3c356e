/**
 * Two projects, each with a profile that puts eth0 on its own bridge: one instance name in both answers
 * `<name>.<suffix>` and `<name>.<project>.<suffix>` with its own addresses; INCUS_DNS_PROJECT keeps one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BRIDGES, IMAGE } from '../../helpers/real-incus.ts'
import type { TestServer } from '../../helpers/server.ts'
import type { RealEnv } from '../real-incus.test.ts'
import { ask, rdata } from '../../helpers/answers.ts'
import { launchAndCheck, msUntil, S, startDns } from './common.ts'

export function projectTests(env: RealEnv): void {
  describe('two projects on two bridges', () => {
    let dns: TestServer
    beforeAll(async () => {
      const incus = env.real.incus
      // features.images=false: the project uses the default project's images; its own default profile.
      await incus(['project', 'create', 'blue', '-c', 'features.images=false', '-c', 'features.profiles=true'])
      await incus(['profile', 'device', 'add', 'default', 'root', 'disk', 'path=/', 'pool=default', '--project', 'blue'])
      await incus(['profile', 'device', 'add', 'default', 'eth0', 'nic', `network=${BRIDGES[1].name}`, 'name=eth0', '--project', 'blue'])
      ;({ dns } = await startDns(env.real))
      await msUntil(async () => dns.incus?.ready === true && dns.incus.eventsConnected, 10_000, 'first sync and event stream')
    }, 30_000)
    afterAll(async () => { await dns?.stop() })

    it('the same name in both: <name>.<suffix> and <name>.<project>.<suffix>, each with its own bridge\'s addresses', async () => {
      const a = await launchAndCheck(env.real, dns.port, 'twin', { image: IMAGE })
      const b = await launchAndCheck(env.real, dns.port, 'twin', { image: IMAGE, project: 'blue', dnsName: `twin.blue.${S}` })
      expect(a.ipv4.address).toMatch(/^10\.251\.71\./)
      expect(b.ipv4.address).toMatch(/^10\.251\.72\./)
      expect(await rdata(dns.port, `twin.${S}`)).toEqual([a.ipv4.address])
      expect(await rdata(dns.port, `twin.blue.${S}`)).toEqual([b.ipv4.address])
      expect(await rdata(dns.port, `twin.blue.${S}`, 'AAAA')).toEqual([b.ipv6.address])
    }, 60_000)

    it('Incus itself refuses the same name twice on one bridge (as the simulated Incus does)', async () => {
      const incus = env.real.incus
      await incus(['project', 'create', 'green', '-c', 'features.images=false', '-c', 'features.profiles=false'])
      await expect(incus(['launch', IMAGE, 'twin', '--quiet', '--project', 'green'])).rejects.toThrow(/Instance DNS name "twin" already used on network/)
      expect((await ask(dns.port, `twin.green.${S}`)).rcode).toBe(3) // created but stopped: no name
      await incus(['delete', '--force', 'twin', '--project', 'green'])
    }, 30_000)

    it('INCUS_DNS_PROJECT=blue publishes that project only', async () => {
      const { dns: one } = await startDns(env.real, ['--project', 'blue'])
      try {
        await msUntil(async () => (await rdata(one.port, `twin.blue.${S}`)).length === 1, 5000, 'twin.blue')
        expect((await ask(one.port, `twin.${S}`)).rcode).toBe(3)
      } finally {
        await one.stop()
      }
    }, 30_000)
  })
}
