/**
 * Compose stacks on the real incusd, labelled with `incus launch -c` and `incus config set` exactly as
 * incus-compose and ic-healthd label them: a service of three replicas answers A, AAAA and SRV with all three;
 * a replica marked unhealthy leaves within 500 ms and comes back within 500 ms of healthy; all unhealthy,
 * all served; ic-dns's alias key; and a container of the stack resolving the bare service name through its
 * bridge (docs/services.md's recipe: `dns.search` sent as DHCP option 119, `raw.dnsmasq server=/<suffix>/...`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LogLine } from '../../helpers/incus.ts'
import { BRIDGES, IMAGE } from '../../helpers/real-incus.ts'
import type { TestServer } from '../../helpers/server.ts'
import type { RealEnv } from '../real-incus.test.ts'
import { ask, rdata } from '../../helpers/answers.ts'
import { launchAndCheck, msUntil, S, startDns } from './common.ts'

const STACK = { 'user.label.incus-compose.project': 'shop', 'user.label.incus-compose.service': 'web', 'user.dns.srv.http': 'tcp/80' }

export function serviceTests(env: RealEnv): void {
  describe('compose stacks: a service over its healthy replicas', () => {
    let dns: TestServer
    let lines: LogLine[]
    const bridge = BRIDGES[0]
    const v4: string[] = []
    const v6: string[] = []
    const sorted = async (name: string, type = 'A'): Promise<string[]> => (await rdata(dns.port, name, type)).sort()
    const health = async (replica: number, value: string): Promise<void> => {
      await env.real.incus(['config', 'set', `web-${replica}`, `user.healthcheck.status=${value}`])
    }
    /** ms from now until the service answers A with exactly these replicas' addresses. */
    const until = (replicas: number[], bound: number, what: string): Promise<number> => {
      const want = replicas.map((i) => v4[i - 1] as string).sort().join()
      return msUntil(async () => (await sorted(`web.${S}`)).join() === want, bound, what)
    }
    beforeAll(async () => {
      ({ dns, lines } = await startDns(env.real))
      await msUntil(async () => dns.incus?.ready === true && dns.incus.eventsConnected, 10_000, 'first sync and event stream')
      // The recipe: the bridge's dnsmasq sends the suffix to incus-dns, and hands it out as the search list.
      await env.real.incus(['network', 'set', bridge.name, 'raw.dnsmasq', `no-resolv\nserver=/${S}/127.0.0.1#${dns.port}`])
      await env.real.incus(['network', 'set', bridge.name, 'dns.search', S])
    }, 30_000)
    afterAll(async () => {
      await env.real.incus(['delete', '--force', 'web-1', 'web-2', 'web-3']).catch(() => '')
      await env.real.incus(['network', 'unset', bridge.name, 'dns.search']).catch(() => '')
      await env.real.incus(['network', 'set', bridge.name, 'raw.dnsmasq', 'no-resolv']).catch(() => '')
      await dns?.stop()
    }, 60_000)

    it('three replicas labelled as incus-compose labels them: the service answers A, AAAA and SRV with all three', async () => {
      for (const i of [1, 2, 3]) {
        const tl = await launchAndCheck(env.real, dns.port, `web-${i}`, { image: IMAGE, config: STACK, lines })
        v4.push(tl.ipv4.address as string)
        v6.push(tl.ipv6.address as string)
      }
      await msUntil(async () => (await sorted(`web.${S}`)).join() === [...v4].sort().join() && (await sorted(`web.${S}`, 'AAAA')).join() === [...v6].sort().join(), 1000, 'web A and AAAA with all three')
      const srv = await ask(dns.port, `_http._tcp.web.${S}`, 'SRV')
      expect(srv.answer.map((l) => l.split(' ').slice(4).join(' ')).sort()).toEqual([1, 2, 3].map((i) => `0 1 80 web-${i}.${S}.`))
      expect(srv.additional.filter((l) => l.includes(' IN A ')).map((l) => l.split(' ').pop()).sort()).toEqual([...v4].sort())
      expect(srv.additional.filter((l) => l.includes(' IN AAAA ')).map((l) => l.split(' ').pop()).sort()).toEqual([...v6].sort())
    }, 120_000)

    it('a replica marked unhealthy leaves the service within 500 ms, and comes back within 500 ms of healthy', async () => {
      await health(2, 'unhealthy')
      const out = await until([1, 3], 500, 'web-2 out of web')
      expect(await rdata(dns.port, `web-2.${S}`)).toEqual([v4[1]]) // its own name still answers
      expect((await ask(dns.port, `_http._tcp.web.${S}`, 'SRV')).answer).toHaveLength(2)
      await health(2, 'healthy')
      const back = await until([1, 2, 3], 500, 'web-2 back in web')
      console.log(`real incusd: unhealthy left the service in ${out} ms, healthy came back in ${back} ms (from incus config set returning)`)
    }, 30_000)

    it('all replicas unhealthy: all are served, and the status says so', async () => {
      for (const i of [1, 2, 3]) await health(i, 'unhealthy')
      await msUntil(async () => dns.incus?.records.services().find((r) => r.service === `web.${S}`)?.failOpen === true, 1000, 'all withheld')
      expect(await sorted(`web.${S}`)).toEqual([...v4].sort())
      for (const i of [1, 2, 3]) await health(i, 'healthy')
      await msUntil(async () => dns.incus?.records.services().find((r) => r.service === `web.${S}`)?.withheld === 0 && dns.incus.records.services()[0]?.failOpen === false, 1000, 'all healthy')
    }, 30_000)

    it("user.label.dns.aliases (ic-dns's key) adds an alias within 500 ms", async () => {
      await env.real.incus(['config', 'set', 'web-1', 'user.label.dns.aliases=frontend'])
      await msUntil(async () => (await ask(dns.port, `frontend.${S}`)).answer[0] === `frontend.${S}. 30 IN CNAME web-1.${S}.`, 500, 'alias frontend')
    }, 30_000)

    it('a container of the stack resolves the bare service name through its bridge', async () => {
      const resolv = await env.real.incus(['exec', 'web-3', '--', 'cat', '/etc/resolv.conf'])
      expect(resolv).toContain(`search ${S}`) // DHCP option 119 from the bridge's dns.search
      const out = await env.real.incus(['exec', 'web-3', '--', 'nslookup', 'web'])
      for (const a of [...v4, ...v6]) expect(out).toContain(a)
      expect(lines.some((l) => l.msg === 'Incus sync failed; keeping the last good records')).toBe(false)
    }, 30_000)
  })
}
