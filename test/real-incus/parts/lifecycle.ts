/**
 * One bridge, default project: launches, and every change to a running instance that moves a name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LogLine } from '../../helpers/incus.ts'
import { IMAGE } from '../../helpers/real-incus.ts'
import type { TestServer } from '../../helpers/server.ts'
import { lag, observe } from '../../helpers/timeline.ts'
import type { RealEnv } from '../real-incus.test.ts'
import { ask, rdata } from '../../helpers/answers.ts'
import { launchAndCheck, msUntil, S, startDns } from './common.ts'

const ptrName = (v4: string): string => `${v4.split('.').reverse().join('.')}.in-addr.arpa`

export function lifecycleTests(env: RealEnv): void {
  describe('instances on a real bridge', () => {
    let dns: TestServer
    let lines: LogLine[]
    const gone = async (name: string): Promise<boolean> => (await ask(dns.port, name)).rcode === 3
    beforeAll(async () => {
      ({ dns, lines } = await startDns(env.real))
      await msUntil(async () => dns.incus?.ready === true && dns.incus.eventsConnected, 10_000, 'first sync and event stream')
    }, 30_000)
    afterAll(async () => { await dns?.stop() })

    it('a launch answers A, AAAA and the PTR within 1 s of each address appearing in Incus\'s own state', async () => {
      for (const name of ['web1', 'web2', 'web3']) {
        const tl = await launchAndCheck(env.real, dns.port, name, { image: IMAGE })
        expect(await rdata(dns.port, `${name}.${S}`, 'A')).toEqual([tl.ipv4.address])
        expect(await rdata(dns.port, `${name}.${S}`, 'AAAA')).toEqual([tl.ipv6.address])
        expect(await rdata(dns.port, ptrName(tl.ipv4.address as string), 'PTR')).toEqual([`${name}.${S}.`])
        console.log(`launch ${name}: IPv4 in state at ${tl.ipv4.state} ms, answered +${lag(tl.ipv4)} ms; IPv6 at ${tl.ipv6.state} ms, answered +${lag(tl.ipv6)} ms`)
      }
      expect(lines.some((l) => l.msg === 'Incus sync failed; keeping the last good records')).toBe(false)
    }, 90_000)

    it('stop: the name goes within 500 ms', async () => {
      await env.real.incus(['stop', 'web1'])
      await msUntil(() => gone(`web1.${S}`), 500, 'web1 gone after stop')
    }, 30_000)

    it('rename (stop, rename, start): the old name stays gone, the new one answers within 500 ms of each address', async () => {
      await env.real.incus(['rename', 'web1', 'web1b'])
      await env.real.incus(['start', 'web1b'])
      const tl = await observe(env.real, { instance: 'web1b', dnsName: `web1b.${S}`, port: dns.port, t0: Date.now(), boundMs: 15_000 })
      expect(lag(tl.ipv4)).toBeLessThanOrEqual(500)
      expect(lag(tl.ipv6)).toBeLessThanOrEqual(500)
      expect(await gone(`web1.${S}`)).toBe(true)
    }, 30_000)

    it('user.dns.hostname: the new name answers and the old one goes, within 500 ms', async () => {
      const [v4] = await rdata(dns.port, `web2.${S}`)
      await env.real.incus(['config', 'set', 'web2', 'user.dns.hostname=portal'])
      await msUntil(async () => (await rdata(dns.port, `portal.${S}`)).join() === v4 && await gone(`web2.${S}`), 500, 'portal answers, web2 gone')
      expect(await rdata(dns.port, ptrName(v4 as string), 'PTR')).toEqual([`portal.${S}.`])
    }, 30_000)

    it('user.dns.aliases: each alias answers as a CNAME within 500 ms', async () => {
      await env.real.incus(['config', 'set', 'web2', 'user.dns.aliases=www2,blog2'])
      await msUntil(async () => (await ask(dns.port, `blog2.${S}`)).answer[0] === `blog2.${S}. 30 IN CNAME portal.${S}.`, 500, 'alias blog2')
      expect((await ask(dns.port, `www2.${S}`)).answer[0]).toBe(`www2.${S}. 30 IN CNAME portal.${S}.`)
    }, 30_000)

    it('user.dns.wildcard=true: names below the hostname answer within 500 ms', async () => {
      const [v4] = await rdata(dns.port, `portal.${S}`)
      await env.real.incus(['config', 'set', 'web2', 'user.dns.wildcard=true'])
      await msUntil(async () => (await rdata(dns.port, `app1.portal.${S}`)).join() === v4, 500, 'app1.portal')
    }, 30_000)

    it('user.dns.enabled=false: every name of the instance goes within 500 ms', async () => {
      await env.real.incus(['config', 'set', 'web2', 'user.dns.enabled=false'])
      await msUntil(async () => await gone(`portal.${S}`) && await gone(`www2.${S}`) && await gone(`app1.portal.${S}`), 500, 'opted out')
    }, 30_000)

    it('delete of a running instance: its names and PTR go within 500 ms', async () => {
      const [v4] = await rdata(dns.port, `web3.${S}`)
      await env.real.incus(['delete', '--force', 'web3'])
      await msUntil(async () => await gone(`web3.${S}`) && (await ask(dns.port, ptrName(v4 as string), 'PTR')).rcode === 3, 500, 'web3 and its PTR gone')
      await env.real.incus(['delete', '--force', 'web1b', 'web2'])
    }, 30_000)
  })
}
