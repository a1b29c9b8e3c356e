/**
 * incus-dns against a real 3-member Incus cluster (test/helpers/real-cluster.ts), over HTTPS from the host
 * with one member's URL: launches on every member answered within 1 s of each address appearing in Incus's
 * state; one address on two members' bridges (one subnet, a dnsmasq each) gives no PTR; a moved instance
 * answers at its new member, and so do instances evacuated and restored; a member's incusd killed keeps its instances answered and held; the member
 * incus-dns talks to killed, it moves to another and answers a launch within 1 s of its address. The poll
 * interval is 120 s, so no poll hides a slow path; the tests ask for a full sync where they need one.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { captureLog } from '../helpers/incus.ts'
import type { LogLine } from '../helpers/incus.ts'
import { CLUSTER_BRIDGE, clusterToolsMissing, INSTANCE_PREFIX, startRealCluster } from '../helpers/real-cluster.ts'
import type { RealCluster } from '../helpers/real-cluster.ts'
import { haveRealIncus, IMAGE } from '../helpers/real-incus.ts'
import { startServer, statusOf } from '../helpers/server.ts'
import type { TestServer } from '../helpers/server.ts'
import { lag, observe } from '../helpers/timeline.ts'
import { ask, rdata } from '../helpers/answers.ts'
import { msUntil, S, ZONES } from './parts/common.ts'

const missing = clusterToolsMissing()
if (missing.length > 0 && process.env.CI === 'true') throw new Error(`the cluster tests need ${missing.join(', ')} (util-linux)`)
if (missing.length > 0) console.warn(`\n!!! SKIPPING the real-cluster tests: ${missing.join(', ')} missing\n`)

describe.skipIf(missing.length > 0 || !haveRealIncus())('a real Incus cluster of three members', () => {
  let cl: RealCluster
  let dns: TestServer
  let lines: LogLine[]
  let ran = 0
  const name = (n: string): string => `${INSTANCE_PREFIX}${n}`
  const talkingTo = (): string => (dns.incus?.client.connection.kind === 'https' ? dns.incus.client.connection.url : '')
  /** Launches on a member and checks each family is answered within 1 s of appearing in Incus's state. */
  const launch = async (n: string, target: string, via = 0): Promise<{ ipv4: string; ipv6: string }> => {
    // Right after a member dies the cluster may refuse for a few seconds while it elects a new leader.
    const t0 = await msUntil(async () => { await cl.incus(via, ['launch', IMAGE, name(n), '--target', target, '--quiet']); return true }, 60_000, `launch ${n}`).then(() => Date.now())
    const tl = await observe({ get: (p) => cl.get(via, p) }, { instance: name(n), dnsName: `${name(n)}.${S}`, port: dns.port, t0, boundMs: 20_000 })
    console.log(`cluster launch ${n} on ${target}: IPv4 in state at ${tl.ipv4.state} ms, answered +${lag(tl.ipv4)} ms; IPv6 at ${tl.ipv6.state} ms, answered +${lag(tl.ipv6)} ms`)
    expect(lag(tl.ipv4), `${n}: A ${JSON.stringify(tl.ipv4)}`).toBeLessThanOrEqual(1000)
    expect(lag(tl.ipv6), `${n}: AAAA ${JSON.stringify(tl.ipv6)}`).toBeLessThanOrEqual(1000)
    return { ipv4: tl.ipv4.address as string, ipv6: tl.ipv6.address as string }
  }

  beforeAll(async () => {
    const t0 = Date.now()
    cl = await startRealCluster()
    console.log(`real cluster of 3 members formed in ${Date.now() - t0} ms`)
    const captured = captureLog()
    lines = captured.lines
    const { client, ca, serverName } = cl.tls
    dns = await startServer(ZONES, ['--incus-url', cl.members[0]?.url as string, '--incus-tls-cert', client.certFile, '--incus-tls-key', client.keyFile,
      '--incus-tls-ca', ca, '--incus-tls-server-name', serverName, '--suffix', S, '--poll-interval', '120s', '--state-file', join(cl.dir, 'dns-state.json')], {}, captured.log)
    await msUntil(async () => dns.incus?.ready === true && dns.incus.eventsConnected, 20_000, 'first sync and event stream')
  }, 300_000)
  afterAll(async () => {
    await dns?.stop()
    await cl?.stop()
    console.log(`real-cluster tests: ${ran} ran against a 3-member incusd cluster`)
  }, 300_000)

  it('learns the members from one URL; launches on every member are answered within 1 s of each address', async () => {
    expect(dns.incus?.client.members?.urls).toEqual(cl.members.map((m) => m.url))
    for (const [n, m] of [['a', 'node1'], ['b', 'node2'], ['c', 'node3']] as const) await launch(n, m)
    await dns.incus?.sync()
    const s = await statusOf(dns)
    expect(s.cluster?.members.map((m) => [m.member, m.status, m.inUse])).toEqual([['node1', 'Online', true], ['node2', 'Online', false], ['node3', 'Online', false]])
    expect(s.instances.filter((r) => r.instance.startsWith(`default/${INSTANCE_PREFIX}`)).map((r) => [r.instance, r.member]))
      .toEqual([[`default/${name('a')}`, 'node1'], [`default/${name('b')}`, 'node2'], [`default/${name('c')}`, 'node3']])
    ran++
  }, 180_000)

  it('one address on two members (one subnet, a dnsmasq each): both names answer it, no PTR names either, and the status page shows it', async () => {
    const shared = `${CLUSTER_BRIDGE.prefix4}250`
    for (const n of ['a', 'b']) await cl.incus(0, ['exec', name(n), '--', 'sh', '-c', `ip -4 addr flush dev eth0 scope global && ip addr add ${shared}/24 dev eth0`])
    await msUntil(async () => { await dns.incus?.sync(); return (await rdata(dns.port, `${name('a')}.${S}`)).join() === shared && (await rdata(dns.port, `${name('b')}.${S}`)).join() === shared }, 10_000, 'both at .250')
    const ptr = `250.${CLUSTER_BRIDGE.prefix4.split('.').slice(0, 3).reverse().join('.')}.in-addr.arpa`
    expect((await ask(dns.port, ptr, 'PTR')).rcode).toBe(3)
    expect((await statusOf(dns)).cluster?.sharedAddresses).toEqual([{ ptr, instances: [`default/${name('a')}`, `default/${name('b')}`] }])
    expect(lines.some((l) => l.msg === 'two instances claim one name; the same address on two cluster members: no PTR, since it could name the wrong instance')).toBe(true)
    ran++
  }, 60_000)

  it('a moved instance (stop, move --target, start) answers at its new member within 1 s of each address', async () => {
    await cl.incus(0, ['stop', '--force', name('c')])
    await cl.incus(0, ['move', name('c'), '--target', 'node2'])
    const t0 = Date.now()
    await cl.incus(0, ['start', name('c')])
    const tl = await observe({ get: (p) => cl.get(0, p) }, { instance: name('c'), dnsName: `${name('c')}.${S}`, port: dns.port, t0, boundMs: 20_000 })
    console.log(`cluster move: IPv4 in state at ${tl.ipv4.state} ms, answered +${lag(tl.ipv4)} ms; IPv6 at ${tl.ipv6.state} ms, answered +${lag(tl.ipv6)} ms`)
    expect(lag(tl.ipv4)).toBeLessThanOrEqual(1000)
    expect(lag(tl.ipv6)).toBeLessThanOrEqual(1000)
    await msUntil(async () => dns.incus?.records.instances.get(`default/${name('c')}`)?.location === 'node2', 1000, 'the new member')
    ran++
  }, 90_000)

  it('evacuate and restore: the instances answer at each member they land on within 1 s of each address', async () => {
    const follow = async (what: string, t0: number): Promise<void> => {
      for (const n of ['b', 'c']) {
        const tl = await observe({ get: (p) => cl.get(0, p) }, { instance: name(n), dnsName: `${name(n)}.${S}`, port: dns.port, t0, boundMs: 20_000 })
        console.log(`cluster ${what} ${n}: IPv4 in state at ${tl.ipv4.state} ms, answered +${lag(tl.ipv4)} ms; IPv6 at ${tl.ipv6.state} ms, answered +${lag(tl.ipv6)} ms`)
        expect(lag(tl.ipv4), `${what} ${n}: A ${JSON.stringify(tl.ipv4)}`).toBeLessThanOrEqual(1000)
        expect(lag(tl.ipv6), `${what} ${n}: AAAA ${JSON.stringify(tl.ipv6)}`).toBeLessThanOrEqual(1000)
        const at = (await cl.get<{ location: string }>(0, `/1.0/instances/${name(n)}`)).location
        await msUntil(async () => dns.incus?.records.instances.get(`default/${name(n)}`)?.location === at, 1000, `${n} at ${at}`)
      }
    }
    await cl.incus(0, ['cluster', 'evacuate', 'node2', '--force'], { timeoutMs: 120_000 })
    await follow('evacuate', Date.now())
    for (const n of ['b', 'c']) expect(dns.incus?.records.instances.get(`default/${name(n)}`)?.location).not.toBe('node2')
    await cl.incus(0, ['cluster', 'restore', 'node2', '--force'], { timeoutMs: 120_000 })
    await follow('restore', Date.now())
    for (const n of ['b', 'c']) expect(dns.incus?.records.instances.get(`default/${name(n)}`)?.location).toBe('node2')
    ran++
  }, 240_000)

  it("a member's incusd killed: its instances stay answered, held, and the member shows offline; back, they are released", async () => {
    const before = await rdata(dns.port, `${name('b')}.${S}`)
    await cl.killDaemon(1) // node2: b and the moved c
    const t0 = Date.now()
    await msUntil(async () => (await cl.incus(0, ['cluster', 'list', '--format', 'csv'], { timeoutMs: 10_000 })).includes('node2,https://10.251.90.12:8443,database,x86_64,default,,OFFLINE'), 40_000, 'node2 offline')
    console.log(`node2 listed offline ${Date.now() - t0} ms after its incusd was killed`)
    await msUntil(async () => { await dns.incus?.sync(); return dns.incus?.cluster.held.has(`default/${name('b')}`) === true }, 15_000, 'b held')
    expect(await rdata(dns.port, `${name('b')}.${S}`)).toEqual(before)
    expect((await rdata(dns.port, `${name('c')}.${S}`)).length).toBe(1)
    const s = await statusOf(dns)
    expect(s.cluster?.members.find((m) => m.member === 'node2')?.status).toBe('Offline')
    expect(s.cluster?.held.map((h) => h.instance)).toEqual(expect.arrayContaining([`default/${name('b')}`, `default/${name('c')}`]))
    await cl.startDaemon(1)
    await msUntil(async () => { await dns.incus?.sync(); return dns.incus?.cluster.held.size === 0 }, 30_000, 'released')
    ran++
  }, 150_000)

  it('the member incus-dns talks to killed: it moves to another within seconds, and a launch elsewhere is answered within 1 s of its address', async () => {
    await cl.killDaemon(0)
    const t0 = Date.now()
    await msUntil(async () => talkingTo() !== cl.members[0]?.url && dns.incus?.eventsConnected === true, 10_000, 'moved to another member')
    const movedMs = Date.now() - t0
    console.log(`incus-dns moved from node1 to ${talkingTo()} ${movedMs} ms after node1's incusd was killed`)
    expect(lines.some((l) => l.msg === 'Incus cluster member not answering; moved to another')).toBe(true)
    await launch('d', 'node3', 2)
    expect((await statusOf(dns)).cluster?.moved).toBeGreaterThanOrEqual(1)
    ran++
  }, 150_000)
})
