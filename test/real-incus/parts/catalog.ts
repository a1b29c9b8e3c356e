/**
 * The catalog zone on a real incusd (issue 28): a bridge made with `incus network create` sends the
 * network-created event incus-dns resyncs on, so its reverse zone is served, and listed in the catalog, within
 * a second or two rather than at the next poll (120 s here); `incus network delete` takes both away again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { memberId } from '../../../src/zone/catalog.ts'
import { ask } from '../../helpers/answers.ts'
import { RUN } from '../../helpers/real-incus.ts'
import type { TestServer } from '../../helpers/server.ts'
import type { RealEnv } from '../real-incus.test.ts'
import { msUntil, startDns } from './common.ts'

const CAT = 'catalog.incus-dns.invalid'
/** This run's extra bridge: a subnet of its own, no NAT, dnsmasq with no-resolv (removed by name afterwards). */
const BRIDGE = { name: `idns${RUN}b4`, cidr4: '10.251.74.1/24', reverse: '74.251.10.in-addr.arpa' }

export function catalogTests(env: RealEnv): void {
  describe('the catalog zone follows bridges made and deleted in Incus', () => {
    let dns: TestServer
    beforeAll(async () => {
      ;({ dns } = await startDns(env.real, ['--catalog', CAT]))
      await msUntil(async () => dns.incus?.ready === true && dns.incus.eventsConnected && dns.catalog?.started === true, 10_000, 'first sync, event stream and catalog')
    }, 30_000)
    afterAll(async () => {
      await env.real.incus(['network', 'delete', BRIDGE.name]).catch(() => '')
      await dns?.stop()
    }, 60_000)

    it('a new bridge: its reverse zone served and in the catalog within 2 s of `incus network create` returning; deleted, gone again', async () => {
      expect((await ask(dns.port, BRIDGE.reverse, 'SOA')).rcode).toBe(5)
      await env.real.incus(['network', 'create', BRIDGE.name, `ipv4.address=${BRIDGE.cidr4}`, 'ipv6.address=none', 'ipv4.nat=false', 'ipv6.nat=false', 'raw.dnsmasq=no-resolv'])
      const served = await msUntil(async () => (await ask(dns.port, BRIDGE.reverse, 'SOA')).rcode === 0, 2000, `${BRIDGE.reverse} served`)
      const listed = await msUntil(async () => (await ask(dns.port, `${memberId(BRIDGE.reverse)}.zones.${CAT}`, 'PTR')).answer.length === 1, 2000, 'listed in the catalog')
      console.log(`real incusd: a new bridge's reverse zone served ${served} ms after incus network create returned, in the catalog ${listed} ms later`)
      expect(dns.catalog?.members().find((m) => m.zone === BRIDGE.reverse)?.group).toBe('reverse')
      await env.real.incus(['network', 'delete', BRIDGE.name])
      await msUntil(async () => (await ask(dns.port, BRIDGE.reverse, 'SOA')).rcode === 5, 2000, `${BRIDGE.reverse} no longer served`)
      await msUntil(async () => (await ask(dns.port, `${memberId(BRIDGE.reverse)}.zones.${CAT}`, 'PTR')).rcode === 3, 2000, 'gone from the catalog')
    }, 30_000)
  })
}
