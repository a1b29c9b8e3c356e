/**
 * Split horizon on the real incusd (INCUS_DNS_VIEWS=auto): a container with a NIC on each test bridge is
 * answered to each bridge's clients with its address on that bridge, PTRs included, and to everyone else with
 * its eth0 address (or user.dns.nic's). Clients are the host on each bridge's address (UDP from that address to
 * incus-dns listening there) and busybox containers on each bridge, whose bridge dnsmasq forwards the suffix to
 * incus-dns at that bridge's address, so the forwarder's source address picks the view.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { udpExchange } from '../../helpers/net.ts'
import { decode, query } from '../../helpers/packets.ts'
import { BRIDGES, IMAGE } from '../../helpers/real-incus.ts'
import type { TestServer } from '../../helpers/server.ts'
import type { RealEnv } from '../real-incus.test.ts'
import { msUntil, S, startDns } from './common.ts'

interface Nic { addresses: { family: string; address: string; scope: string }[] | null }

export function viewTests(env: RealEnv): void {
  describe('split horizon: a container on two bridges', () => {
    let dns: TestServer
    /** incus-dns's port on each bridge's address, in BRIDGES order. */
    let ports: number[] = []
    /** multi's global addresses per NIC, from Incus's state. */
    const addr = { eth0: { v4: '', v6: '' }, eth1: { v4: '', v6: '' } }
    const [br0, br1] = BRIDGES

    /** What incus-dns answers a client at `from` (a bridge's address, or loopback), as rdata strings. */
    const answer = async (from: string, name: string, type: string): Promise<string[]> => {
      const i = BRIDGES.findIndex((b) => b.ipv4 === from)
      const to = i < 0 ? '127.0.0.1' : from
      const reply = await udpExchange(i < 0 ? dns.port : ports[i] as number, query(name, type), 1000, to, from)
      if (reply === null) throw new Error(`no answer for ${name} ${type} from ${from}`)
      return decode(reply).answer.map((l) => l.split(' ')).filter((f) => f[3] === type).map((f) => f.slice(4).join(' '))
    }
    const ptr = (address: string): string => address.split('.').reverse().join('.') + '.in-addr.arpa'

    beforeAll(async () => {
      const listen = ['127.0.0.1:0', ...BRIDGES.map((b) => `${b.ipv4}:0`)].join(',')
      // 127.0.0.1 is trusted with EDNS Client Subnet: the last tests send the bridges' dnsmasq there with add-subnet.
      ;({ dns } = await startDns(env.real, ['--listen', listen, '--views', 'auto', '--views-ecs', '127.0.0.1']))
      ports = dns.server.addresses.slice(1).map((a) => a.port)
      await msUntil(async () => dns.incus?.ready === true && dns.incus.eventsConnected, 10_000, 'first sync and event stream')
      // Each bridge's dnsmasq sends the suffix to incus-dns at that bridge's own address (no-resolv stays).
      for (const [i, b] of BRIDGES.entries()) {
        await env.real.incus(['network', 'set', b.name, 'raw.dnsmasq', `no-resolv\nserver=/${S}/${b.ipv4}#${ports[i] as number}`])
      }
      await env.real.incus(['init', IMAGE, 'multi', '--quiet'])
      await env.real.incus(['config', 'device', 'add', 'multi', 'eth1', 'nic', `network=${br1.name}`, 'name=eth1'])
      await env.real.incus(['start', 'multi'])
      // Until Incus's own state has both families on both NICs (DHCPv4 by udhcpc, SLAAC by the kernel).
      await msUntil(async () => {
        const state = await env.real.get<{ network: Record<string, Nic> | null }>('/1.0/instances/multi/state')
        for (const nic of ['eth0', 'eth1'] as const) {
          for (const a of state.network?.[nic]?.addresses ?? []) {
            if (a.scope !== 'global') continue
            if (a.family === 'inet') addr[nic].v4 = a.address
            else addr[nic].v6 = a.address
          }
        }
        return addr.eth0.v4 !== '' && addr.eth0.v6 !== '' && addr.eth1.v4 !== '' && addr.eth1.v6 !== ''
      }, 30_000, 'multi: IPv4 and IPv6 on eth0 and eth1 in Incus state')
    }, 90_000)
    afterAll(async () => {
      await env.real.incus(['delete', '--force', 'multi', 'asker0', 'asker1']).catch(() => '')
      for (const b of BRIDGES) await env.real.incus(['network', 'set', b.name, 'raw.dnsmasq', 'no-resolv']).catch(() => '')
      await dns?.stop()
    }, 60_000)

    it("each bridge's clients get the address on their bridge, within 1 s of Incus having it; everyone else eth0's", async () => {
      expect(addr.eth0.v4.startsWith('10.251.71.')).toBe(true)
      expect(addr.eth1.v4.startsWith('10.251.72.')).toBe(true)
      // Every view, every family: Incus's state had all four addresses when the wait above ended, but incus-dns
      // reads the state on its own clock (the address watch polls every 100 ms), so each answer gets 1 s from then.
      const want: [string, string, string][] = [
        [br0.ipv4, 'A', addr.eth0.v4], [br0.ipv4, 'AAAA', addr.eth0.v6],
        [br1.ipv4, 'A', addr.eth1.v4], [br1.ipv4, 'AAAA', addr.eth1.v6],
        ['127.0.0.1', 'A', addr.eth0.v4], ['127.0.0.1', 'AAAA', addr.eth0.v6],
      ]
      const wrong = async (): Promise<string[]> => {
        const out: string[] = []
        for (const [from, type, expected] of want) {
          const got = await answer(from, `multi.${S}`, type)
          if (got.length !== 1 || got[0] !== expected) out.push(`${type} from ${from}: ${JSON.stringify(got)}, want ${expected}`)
        }
        return out
      }
      await msUntil(async () => (await wrong()).length === 0, 1000, "each view's answers for multi").catch(async (e: unknown) => {
        throw new Error(`${(e as Error).message}: ${(await wrong()).join('; ')}`)
      })
      expect(await wrong()).toEqual([])
    }, 30_000)

    it("PTRs follow: each bridge's view has the PTR of the address it gives", async () => {
      expect(await answer(br1.ipv4, ptr(addr.eth1.v4), 'PTR')).toEqual([`multi.${S}.`])
      expect(await answer(br0.ipv4, ptr(addr.eth0.v4), 'PTR')).toEqual([`multi.${S}.`])
      expect(await answer('127.0.0.1', ptr(addr.eth1.v4), 'PTR')).toEqual([]) // the default view gives eth0's
    }, 30_000)

    it('user.dns.nic=eth1 moves the default view to eth1; the bridge views stay', async () => {
      await env.real.incus(['config', 'set', 'multi', 'user.dns.nic=eth1'])
      await msUntil(async () => (await answer('127.0.0.1', `multi.${S}`, 'A'))[0] === addr.eth1.v4, 500, 'default view on eth1 after user.dns.nic')
      expect(await answer(br0.ipv4, `multi.${S}`, 'A')).toEqual([addr.eth0.v4])
      await env.real.incus(['config', 'unset', 'multi', 'user.dns.nic'])
      await msUntil(async () => (await answer('127.0.0.1', `multi.${S}`, 'A'))[0] === addr.eth0.v4, 500, 'default view back on eth0')
    }, 30_000)

    it("containers on each bridge, through their bridge's dnsmasq, get multi's address on their own bridge", async () => {
      await env.real.incus(['launch', IMAGE, 'asker0', '--quiet'])
      await env.real.incus(['launch', IMAGE, 'asker1', '--quiet', '--network', br1.name])
      // Until each has its DHCPv4 address (udhcpc writes resolv.conf then).
      for (const asker of ['asker0', 'asker1']) {
        await msUntil(async () => (await env.real.incus(['exec', asker, '--', 'cat', '/etc/resolv.conf'])).includes('nameserver'), 30_000, `${asker}: DHCP`)
      }
      const out0 = await env.real.incus(['exec', 'asker0', '--', 'nslookup', `multi.${S}`, br0.ipv4])
      const out1 = await env.real.incus(['exec', 'asker1', '--', 'nslookup', `multi.${S}`, br1.ipv4])
      expect(out0).toContain(addr.eth0.v4)
      expect(out0).not.toContain(addr.eth1.v4)
      expect(out1).toContain(addr.eth1.v4)
      expect(out1).toContain(addr.eth1.v6)
      expect(out1).not.toContain(addr.eth0.v4)
    }, 90_000)

    it("one address for every bridge: each bridge's dnsmasq adds the client subnet (ECS), which picks the container's view", async () => {
      // Both dnsmasq now send the suffix to incus-dns on 127.0.0.1, with each client's own address in ECS.
      for (const b of BRIDGES) {
        await env.real.incus(['network', 'set', b.name, 'raw.dnsmasq', `no-resolv\nadd-subnet=32,128\nserver=/${S}/127.0.0.1#${dns.port}`])
      }
      const ask = async (asker: string, bridge: string): Promise<string> => {
        let out = ''
        await msUntil(async () => { out = await env.real.incus(['exec', asker, '--', 'nslookup', `multi.${S}`, bridge]); return out.includes('Address') && !out.includes("can't") }, 15_000, `${asker}: an answer through ${bridge}'s dnsmasq`)
        return out
      }
      const out0 = await ask('asker0', br0.ipv4)
      const out1 = await ask('asker1', br1.ipv4)
      expect(out0).toContain(addr.eth0.v4)
      expect(out0).not.toContain(addr.eth1.v4)
      expect(out1).toContain(addr.eth1.v4)
      expect(out1).not.toContain(addr.eth0.v4)
    }, 60_000)

    it('the metrics and the status page say which view answered', async () => {
      const base = `http://127.0.0.1:${dns.http?.address.port}`
      const metrics = await (await fetch(`${base}/metrics`)).text()
      for (const b of BRIDGES) expect(metrics).toMatch(new RegExp(`^incus_dns_view_queries_total\\{view="${b.name}"\\} [1-9]`, 'm'))
      const status = await (await fetch(`${base}/status.json`)).json() as { views: { view: string; sees: string[] }[]; instances: { instance: string; views: { view: string; ipv4: string | null }[] }[] }
      expect(status.views.map((v) => v.view)).toEqual(['default', br0.name, br1.name])
      expect(status.views[2]?.sees).toEqual(['10.251.72.0/24', 'fd42:251:72::/64'])
      expect(status.instances.find((i) => i.instance === 'default/multi')?.views).toEqual([{ view: br1.name, ipv4: addr.eth1.v4, ipv6: addr.eth1.v6 }])
    }, 30_000)
  })
}
