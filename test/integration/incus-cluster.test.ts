/**
 * A cluster on the simulated Incus: three members, each an HTTPS listener of one shared state. incus-dns is
 * given one member's URL, learns the others, and when that member dies moves to another within seconds and
 * keeps answering; an offline member's instances are held with their last records; a dead first URL in the
 * list is passed over at start; a migrated instance's new member and address are read again after the event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SimIncus } from '../../src/sim/server.ts'
import { havePeer } from '../helpers/binaries.ts'
import { rdata } from '../helpers/answers.ts'
import { selfSigned } from '../helpers/certs.ts'
import type { CertFiles } from '../helpers/certs.ts'
import { startWithIncus } from '../helpers/incus.ts'
import type { LogLine } from '../helpers/incus.ts'
import { freePort, waitFor } from '../helpers/net.ts'
import { statusOf } from '../helpers/server.ts'
import type { TestServer } from '../helpers/server.ts'

const ZONES = new URL('../../zones/', import.meta.url).pathname
const S = 'incus.example.org'

describe.skipIf(!havePeer('openssl', 'openssl'))('an Incus cluster (simulated): failover between members', () => {
  let sim: SimIncus
  let cert: CertFiles
  let client: CertFiles
  const ports: number[] = []
  const stops: (() => Promise<void>)[] = []
  const start = async (urls: string[]): Promise<{ server: TestServer; lines: LogLine[] }> => {
    const started = await startWithIncus(ZONES, ['--incus-url', urls.join(','), '--incus-tls-cert', client.certFile, '--incus-tls-key', client.keyFile,
      '--incus-tls-ca', cert.certFile, '--suffix', S, '--poll-interval', '60s'])
    stops.push(() => started.server.stop())
    return started
  }

  beforeAll(async () => {
    // One cluster certificate for every member, as Incus clusters have.
    cert = selfSigned('incus-cluster', 'DNS:incus-cluster,IP:127.0.0.1')
    client = selfSigned('incus-dns')
    sim = new SimIncus()
    sim.trusted.push(client.der)
    for (const n of [1, 2, 3]) ports.push(await sim.listenMember(`node${n}`, { key: cert.key, cert: cert.cert }))
    for (const n of [1, 2, 3]) sim.launch({ name: `c${n}`, ipv4: `10.42.0.${n}`, location: `node${n}` })
  })
  afterAll(async () => { for (const s of stops) await s(); await sim?.close() })

  it('given one member, learns the others; the status page shows them and the one talked to', async () => {
    const { server: dns } = await start([`https://127.0.0.1:${ports[0]}`])
    await waitFor(() => dns.incus?.ready === true && dns.incus.eventsConnected, 5000)
    expect(dns.incus?.client.members?.urls).toEqual(ports.map((p) => `https://127.0.0.1:${p}`))
    const s = await statusOf(dns)
    expect(s.cluster).toMatchObject({ current: `https://127.0.0.1:${ports[0]}`, serverName: 'node1', moved: 0 })
    expect(s.cluster?.members.map((m) => [m.member, m.status, m.inUse, m.instances])).toEqual([['node1', 'Online', true, 1], ['node2', 'Online', false, 1], ['node3', 'Online', false, 1]])
    expect(s.instances.find((r) => r.instance === 'default/c2')?.member).toBe('node2')
    expect(await rdata(dns.port, `c1.${S}`)).toEqual(['10.42.0.1'])
  })

  it('the member talked to dies: within seconds another takes over, its instances are held, and launches are answered', async () => {
    const { server: dns, lines } = await start([`https://127.0.0.1:${ports[0]}`])
    await waitFor(() => dns.incus?.ready === true && dns.incus.eventsConnected, 5000)
    const t0 = Date.now()
    await sim.stopMember('node1')
    await waitFor(() => dns.incus?.eventsConnected === true && dns.incus.client.connection.kind === 'https' && dns.incus.client.connection.url !== `https://127.0.0.1:${ports[0]}`, 5000)
    const movedMs = Date.now() - t0
    // The resync after reconnecting marks node1's instance as held, and keeps its record.
    await waitFor(() => dns.incus?.cluster.held.has('default/c1') === true, 5000)
    expect(await rdata(dns.port, `c1.${S}`)).toEqual(['10.42.0.1'])
    sim.launch({ name: 'after', ipv4: '10.42.0.9', location: 'node2' })
    await waitFor(async () => (await rdata(dns.port, `after.${S}`)).join() === '10.42.0.9', 2000)
    const s = await statusOf(dns)
    expect(s.cluster?.moved).toBeGreaterThanOrEqual(1)
    expect(s.cluster?.switches[0]).toMatchObject({ from: `https://127.0.0.1:${ports[0]}`, to: `https://127.0.0.1:${ports[1]}` })
    expect(s.cluster?.held).toEqual([{ instance: 'default/c1', member: 'node1' }])
    expect(s.instances.find((r) => r.instance === 'default/c1')?.detail).toContain('held: its member node1 is offline')
    const metrics = await (await fetch(`http://127.0.0.1:${dns.http?.address.port}/metrics`)).text()
    expect(metrics).toMatch(/^incus_dns_incus_member_switches_total [1-9]/m)
    expect(metrics).toMatch(/^incus_dns_incus_held_instances 1$/m)
    expect(metrics).toMatch(/^incus_dns_incus_cluster_members\{status="Offline"\} 1$/m)
    expect(metrics).toContain(`incus_dns_incus_member_in_use{member="node2",url="https://127.0.0.1:${ports[1]}"} 1`)
    expect(lines.some((l) => l.msg === 'Incus cluster member not answering; moved to another')).toBe(true)
    console.log(`simulated cluster: moved to another member ${movedMs} ms after the one in use died`)
  })

  it('a first URL that does not answer is passed over at start', async () => {
    const dead = await freePort()
    const { server: dns, lines } = await start([`https://127.0.0.1:${dead}`, `https://127.0.0.1:${ports[2]}`])
    await waitFor(() => dns.incus?.ready === true, 5000)
    expect(dns.incus?.client.connection.kind === 'https' && dns.incus.client.connection.url).toBe(`https://127.0.0.1:${ports[2]}`)
    expect(await rdata(dns.port, `c3.${S}`)).toEqual(['10.42.0.3'])
    // A sync fails only when no member answers: moving on from the dead one is a warning, not a failed sync (issue 26, 11).
    expect(lines.filter((l) => l.msg === 'Incus sync failed; keeping the last good records')).toEqual([])
    expect(dns.incus?.stats.syncErrors).toBe(0)
  })

  it('instance-migrated before the database names the new member: read again, the new member and address follow', async () => {
    const { server: dns } = await start([`https://127.0.0.1:${ports[1]}`])
    await waitFor(() => dns.incus?.ready === true && dns.incus.eventsConnected, 5000)
    sim.migrate('default', 'c3', 'node2', { ipv4: '10.42.0.33' }, 150)
    await waitFor(async () => (await rdata(dns.port, `c3.${S}`)).join() === '10.42.0.33', 1000)
    expect(dns.incus?.records.instances.get('default/c3')?.location).toBe('node2')
  })
})
