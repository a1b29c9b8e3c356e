/**
 * Several standalone servers in one zone (INCUS_DNS_INCUS_REMOTES) through a generated incus client
 * configuration: a unix:// remote and an HTTPS remote with a pinned server certificate. Names from both; the
 * same name on both goes to the remote named first (list order, not alphabetical), the loser shown; a remote
 * with a suffix of its own; one server down touches nothing of the other; the state files cover every remote.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SimIncus } from '../../src/sim/server.ts'
import { havePeer } from '../helpers/binaries.ts'
import { rdata } from '../helpers/answers.ts'
import { selfSigned } from '../helpers/certs.ts'
import { dig } from '../helpers/dig.ts'
import { simSocket, startWithIncus } from '../helpers/incus.ts'
import type { LogLine } from '../helpers/incus.ts'
import { waitFor } from '../helpers/net.ts'
import { statusOf } from '../helpers/server.ts'
import type { TestServer } from '../helpers/server.ts'

const ZONES = new URL('../../zones/', import.meta.url).pathname
const S = 'incus.example.org'

describe.skipIf(!havePeer('openssl', 'openssl') || !havePeer('dig', 'bind9-dnsutils'))('several Incus servers in one zone (remotes)', () => {
  let local: SimIncus
  let remote: SimIncus
  let conf: string
  let stateFile: string
  const stops: (() => Promise<void>)[] = []
  const start = async (remotes: string): Promise<{ server: TestServer; lines: LogLine[] }> => {
    const started = await startWithIncus(ZONES, ['--incus-remotes', remotes, '--incus-conf', conf, '--suffix', S, '--poll-interval', '60s', '--state-file', stateFile])
    let stopped = false
    const stop = started.server.stop.bind(started.server)
    started.server.stop = async (grace?: number) => { if (!stopped) { stopped = true; await stop(grace) } }
    stops.push(() => started.server.stop())
    return started
  }

  beforeAll(async () => {
    const l = await simSocket()
    local = l.sim
    local.launch({ name: 'web', ipv4: '10.42.0.15' })
    local.launch({ name: 'only-local', ipv4: '10.42.0.16' })
    // The other server: HTTPS, its certificate pinned in servercerts/ as `incus remote add` leaves it.
    const server = selfSigned('lab-b', 'DNS:lab-b')
    const client = selfSigned('incus-dns')
    remote = new SimIncus()
    remote.trusted.push(client.der)
    remote.launch({ name: 'web', ipv4: '10.43.0.15', network: 'incusbr1' })
    remote.launch({ name: 'only-b', ipv4: '10.43.0.16', network: 'incusbr1' })
    const port = await remote.listenHttps({ key: server.key, cert: server.cert })
    conf = mkdtempSync(join(tmpdir(), 'incus-conf-'))
    mkdirSync(join(conf, 'servercerts'))
    writeFileSync(join(conf, 'servercerts', 'lab-b.crt'), server.cert)
    writeFileSync(join(conf, 'client.crt'), client.cert)
    writeFileSync(join(conf, 'client.key'), client.key)
    writeFileSync(join(conf, 'config.yml'), [
      'default-remote: local', 'remotes:',
      '  images:', '    addr: https://images.linuxcontainers.org', '    protocol: simplestreams', '    public: true',
      `  local:`, `    addr: unix://${l.socket}`, '    public: false',
      // 127.0.0.1, not the name in its certificate: the pinned certificate is the trust, as for the incus client.
      '  lab-b:', `    addr: https://127.0.0.1:${port}`, '    auth_type: tls', '    project: default', '    protocol: incus', '    public: false',
      'aliases: {}', '',
    ].join('\n'))
    stateFile = join(mkdtempSync(join(tmpdir(), 'incus-remotes-state-')), 'state.json')
  })
  afterAll(async () => { for (const s of stops) await s(); await local?.close(); await remote?.close() })

  it('names from both servers; one name on both goes to the remote named first, and the status page shows the loser', async () => {
    const { server: dns, lines } = await start('lab-b,local') // lab-b first, though 'local' sorts first
    await waitFor(() => dns.remotes.every((s) => s.ready && s.eventsConnected), 5000)
    expect(await rdata(dns.port, `only-local.${S}`)).toEqual(['10.42.0.16'])
    expect(await rdata(dns.port, `only-b.${S}`)).toEqual(['10.43.0.16'])
    expect(await rdata(dns.port, `web.${S}`)).toEqual(['10.43.0.15'])
    expect(lines.some((l) => l.msg.startsWith('two instances claim one name') && l.winner === 'lab-b:default/web' && l.loser === 'local:default/web')).toBe(true)
    const s = await statusOf(dns)
    expect(s.instances.find((r) => r.instance === 'local:default/web')).toMatchObject({ state: 'name conflict', detail: `web.${S} is answered for lab-b:default/web (its remote comes first in INCUS_DNS_INCUS_REMOTES)` })
    expect(s.remotes.map((r) => [r.remote, r.connected, r.instances])).toEqual([['lab-b', true, 2], ['local', true, 2]])
    // Events from both servers drive answers.
    local.launch({ name: 'new-local', ipv4: '10.42.0.17' })
    remote.launch({ name: 'new-b', ipv4: '10.43.0.17', network: 'incusbr1' })
    await waitFor(async () => (await rdata(dns.port, `new-local.${S}`)).join() === '10.42.0.17' && (await rdata(dns.port, `new-b.${S}`)).join() === '10.43.0.17', 2000)
    // PTRs in both servers' reverse zones (their bridges' subnets).
    expect((await dig('127.0.0.1', dns.port, '16.0.42.10.in-addr.arpa', 'PTR')).answer).toEqual([`16.0.42.10.in-addr.arpa. 30 IN PTR only-local.${S}.`])
    expect((await dig('127.0.0.1', dns.port, '16.0.43.10.in-addr.arpa', 'PTR')).answer).toEqual([`16.0.43.10.in-addr.arpa. 30 IN PTR only-b.${S}.`])
    await dns.stop()
  })

  it('a remote with a suffix of its own: its names there, and no clash with the other', async () => {
    const { server: dns } = await start('local,lab-b=lab-b.example.org')
    await waitFor(() => dns.remotes.every((s) => s.ready), 5000)
    expect(await rdata(dns.port, `web.${S}`)).toEqual(['10.42.0.15'])
    expect(await rdata(dns.port, 'web.lab-b.example.org')).toEqual(['10.43.0.15'])
    expect((await dig('127.0.0.1', dns.port, 'lab-b.example.org', 'SOA')).answer).toHaveLength(1)
    await dns.stop()
  })

  it("one server down touches nothing of the other's; its own names keep their last records; both come back from the state files", async () => {
    const { server: dns, lines } = await start('local,lab-b')
    await waitFor(() => dns.remotes.every((s) => s.ready && s.eventsConnected), 5000)
    await remote.close()
    await waitFor(() => lines.some((l) => l.remote === 'lab-b' && l.msg === 'event stream down; reconnecting'), 5000)
    local.launch({ name: 'during', ipv4: '10.42.0.18' })
    await waitFor(async () => (await rdata(dns.port, `during.${S}`)).join() === '10.42.0.18', 2000)
    await dns.remotes[1]?.sync()
    expect(await rdata(dns.port, `only-b.${S}`)).toEqual(['10.43.0.16']) // kept: Incus failing removes nothing
    expect((await statusOf(dns)).remotes.find((r) => r.remote === 'lab-b')?.connected).toBe(false)
    await dns.stop() // writes each remote's state file
    // Both servers gone: a restart answers every remote's names from their state files.
    await local.close()
    const again = (await start('local,lab-b')).server
    await waitFor(() => again.remotes.every((s) => s.restored), 5000)
    expect(await rdata(again.port, `only-b.${S}`)).toEqual(['10.43.0.16'])
    expect(await rdata(again.port, `during.${S}`)).toEqual(['10.42.0.18'])
  })
})
