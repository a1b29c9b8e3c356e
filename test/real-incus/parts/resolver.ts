/**
 * The bridge-dnsmasq recipe of docs/resolvers.md, for real: the bridge's own dnsmasq sends the suffix to incus-dns
 * (`raw.dnsmasq server=/<suffix>/127.0.0.1#<port>`; that dnsmasq runs on the host, so loopback reaches us),
 * and a container resolves another instance's name with busybox nslookup. Nothing else is forwarded
 * (`no-resolv` stays), and the container asks only for names in the test zone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BRIDGES, IMAGE } from '../../helpers/real-incus.ts'
import type { LogLine } from '../../helpers/incus.ts'
import type { TestServer } from '../../helpers/server.ts'
import type { RealEnv } from '../real-incus.test.ts'
import { launchAndCheck, msUntil, S, startDns } from './common.ts'

export function resolverTests(env: RealEnv): void {
  describe("the bridge's dnsmasq forwarding the suffix to incus-dns", () => {
    let dns: TestServer
    let lines: LogLine[]
    const bridge = BRIDGES[0]
    beforeAll(async () => {
      ({ dns, lines } = await startDns(env.real))
      await msUntil(async () => dns.incus?.ready === true && dns.incus.eventsConnected, 10_000, 'first sync and event stream')
      await env.real.incus(['network', 'set', bridge.name, 'raw.dnsmasq', `no-resolv\nserver=/${S}/127.0.0.1#${dns.port}`])
    }, 30_000)
    afterAll(async () => {
      await env.real.incus(['network', 'set', bridge.name, 'raw.dnsmasq', 'no-resolv']).catch(() => '')
      await dns?.stop()
    })

    it('a container resolves another instance by <name>.<suffix> through the bridge DNS', async () => {
      const target = await launchAndCheck(env.real, dns.port, 'target', { image: IMAGE, lines })
      await launchAndCheck(env.real, dns.port, 'asker', { image: IMAGE })
      const out = await env.real.incus(['exec', 'asker', '--', 'nslookup', `target.${S}`, bridge.ipv4])
      expect(out).toContain(target.ipv4.address as string)
      expect(out).toContain(target.ipv6.address as string)
      await env.real.incus(['delete', '--force', 'target', 'asker'])
    }, 60_000)
  })
}
