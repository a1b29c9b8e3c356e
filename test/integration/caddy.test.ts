/**
 * Names Caddy routes (issue 25): an instance with `user.caddyserver.http.enable=true` and
 * `user.caddyserver.http.matchers.host=<name>` publishes <name> as the proxy's addresses (INCUS_DNS_CADDY_PROXY:
 * an instance, per view, or a CNAME to it in cname mode; or fixed addresses), within the name rules; the name
 * goes when routing is turned off or the instance goes; without the setting the keys are ignored, said once.
 * And a real caddy, routing by that name, proxies a client that resolved it through incus-dns.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { SimIncus } from '../../src/sim/server.ts'
import { ask, rdata } from '../helpers/answers.ts'
import { havePeer } from '../helpers/binaries.ts'
import { simSocket, startWithIncus } from '../helpers/incus.ts'
import type { LogLine } from '../helpers/incus.ts'
import { freePort, waitFor } from '../helpers/net.ts'
import type { TestServer } from '../helpers/server.ts'

const ZONES = new URL('../../zones/', import.meta.url).pathname
const S = 'incus.example.org'
const ROUTED = { 'user.caddyserver.http.enable': 'true', 'user.caddyserver.http.matchers.host': 'shop.example.org', 'user.caddyserver.http.upstream.port': '8080' }

describe('names Caddy routes (simulated Incus)', () => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => { for (const c of cleanups.splice(0)) await c() })
  const start = async (args: string[], setup: (sim: SimIncus) => void): Promise<{ sim: SimIncus; dns: TestServer; lines: LogLine[] }> => {
    const { sim, socket } = await simSocket()
    setup(sim)
    const { server: dns, lines } = await startWithIncus(ZONES, ['--incus-socket', socket, '--suffix', S, '--poll-interval', '60s', ...args])
    cleanups.push(async () => { await dns.stop(); await sim.close() })
    await waitFor(() => dns.incus?.ready === true && dns.incus.eventsConnected, 5000)
    return { sim, dns, lines }
  }

  it("the proxy as an instance: the routed name answers its addresses, follows them, and goes when routing is off or the instance goes", async () => {
    const { sim, dns } = await start(['--caddy-proxy', 'caddy'], (s) => {
      s.launch({ name: 'caddy', ipv4: '10.42.0.2', ipv6: 'fd42:4c81:5770:1eaf::2' })
      s.launch({ name: 'app', ipv4: '10.42.0.20', config: ROUTED })
    })
    expect(await rdata(dns.port, 'shop.example.org')).toEqual(['10.42.0.2'])
    expect(await rdata(dns.port, 'shop.example.org', 'AAAA')).toEqual(['fd42:4c81:5770:1eaf::2'])
    expect(await rdata(dns.port, `app.${S}`)).toEqual(['10.42.0.20']) // the instance keeps its own name and address
    // The proxy moves: the routed name follows at the next look at the proxy.
    sim.setAddresses('default', 'caddy', '10.42.0.3', null)
    await dns.incus?.sync()
    expect(await rdata(dns.port, 'shop.example.org')).toEqual(['10.42.0.3'])
    sim.setConfig('default', 'app', 'user.caddyserver.http.enable', 'false')
    await waitFor(async () => (await ask(dns.port, 'shop.example.org')).rcode === 3, 3000)
    sim.setConfig('default', 'app', 'user.caddyserver.http.enable', 'true')
    await waitFor(async () => (await rdata(dns.port, 'shop.example.org')).length === 1, 3000)
    sim.delete('default', 'app')
    await waitFor(async () => (await ask(dns.port, 'shop.example.org')).rcode === 3, 3000)
  })

  it('in cname target mode, a CNAME to the proxy instance; fixed addresses in every view; the name rules hold', async () => {
    const { dns: cname } = await start(['--caddy-proxy', 'caddy', '--target-mode', 'cname', '--cname-target', 'edge.example.net'], (s) => {
      s.launch({ name: 'caddy', ipv4: '10.42.0.2' })
      s.launch({ name: 'app', ipv4: '10.42.0.20', config: ROUTED })
    })
    // The chain followed inside our zones: the proxy's own name is a CNAME to the target in this mode.
    expect((await ask(cname.port, 'shop.example.org')).answer).toEqual([`shop.example.org. 30 IN CNAME caddy.${S}.`, `caddy.${S}. 30 IN CNAME edge.example.net.`])
    const { dns } = await start(['--caddy-proxy', '192.0.2.10,2001:db8::10'], (s) => {
      s.launch({ name: 'app', ipv4: '10.42.0.20', config: ROUTED })
      s.launch({ name: 'web', project: 'tenant', ipv4: '10.42.0.21', config: { ...ROUTED, 'user.caddyserver.http.matchers.host': 'tenant-shop.example.org' } })
    })
    expect(await rdata(dns.port, 'shop.example.org')).toEqual(['192.0.2.10'])
    expect(await rdata(dns.port, 'shop.example.org', 'AAAA')).toEqual(['2001:db8::10'])
    // A tenant's routed name outside its own names is refused like any key.
    expect((await ask(dns.port, 'tenant-shop.example.org')).rcode).toBe(3)
    expect(dns.incus?.records.refusals()).toEqual([expect.objectContaining({ instance: 'tenant/web', key: 'user.caddyserver.http.matchers.host', reason: 'project' })])
  })

  it("per view: a client on the proxy's second network gets its address there", async () => {
    const { dns } = await start(['--caddy-proxy', 'caddy', '--views', 'br1=127.0.0.3>incusbr1'], (s) => {
      s.launch({ name: 'caddy', ipv4: '10.42.0.2', nics: [{ device: 'eth1', network: 'incusbr1', ipv4: '10.43.0.2' }] })
      s.launch({ name: 'app', ipv4: '10.42.0.20', config: ROUTED })
    })
    const from = async (source: string): Promise<string[]> => (await ask(dns.port, 'shop.example.org', 'A', source)).answer
    expect(await from('127.0.0.1')).toEqual(['shop.example.org. 30 IN A 10.42.0.2'])
    expect(await from('127.0.0.3')).toEqual(['shop.example.org. 30 IN A 10.43.0.2'])
  })

  it('without INCUS_DNS_CADDY_PROXY the keys are ignored, said once at start', async () => {
    const { dns, lines } = await start([], (s) => s.launch({ name: 'app', ipv4: '10.42.0.20', config: ROUTED }))
    expect((await ask(dns.port, 'shop.example.org')).rcode).toBe(3)
    await dns.incus?.sync()
    expect(lines.filter((l) => String(l.msg).startsWith('instances have user.caddyserver.http.* keys'))).toHaveLength(1)
  })
})

describe.skipIf(!havePeer('caddy', 'caddy'))('a real caddy routes the name a client resolved through incus-dns', () => {
  let caddy: ChildProcess | null = null
  let dir = ''
  let backend: http.Server | null = null
  afterEach(async () => {
    if (caddy !== null && caddy.exitCode === null) { const gone = new Promise((r) => caddy?.once('exit', r)); caddy.kill('SIGTERM'); await gone }
    backend?.close()
    if (dir !== '') rmSync(dir, { recursive: true, force: true })
  })

  it('dig gives the proxy for the routed name; Caddy, asked for it there, proxies to the instance', async () => {
    // The instance's service (on loopback here: the simulated instance's own address is not on this host).
    backend = http.createServer((req, res) => { res.end(`served by app for ${req.headers.host ?? ''}`) })
    await new Promise<void>((r) => backend?.listen(0, '127.0.0.1', () => r()))
    const backendPort = (backend.address() as AddressInfo).port
    const caddyPort = await freePort()
    dir = mkdtempSync(join(tmpdir(), 'idns-caddy-'))
    writeFileSync(join(dir, 'Caddyfile'), `{\n  admin off\n  auto_https off\n  storage file_system ${dir}\n}\nhttp://shop.example.org:${caddyPort} {\n  bind 127.0.0.1\n  reverse_proxy 127.0.0.1:${backendPort}\n}\n`)
    let out = ''
    caddy = spawn('caddy', ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], { env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] })
    caddy.stdout?.on('data', (d: Buffer) => { out += d.toString() })
    caddy.stderr?.on('data', (d: Buffer) => { out += d.toString() })
    const { sim, socket } = await simSocket()
    sim.launch({ name: 'app', ipv4: '10.42.0.20', config: ROUTED })
    const { server: dns } = await startWithIncus(ZONES, ['--incus-socket', socket, '--suffix', S, '--caddy-proxy', '127.0.0.1'])
    try {
      await waitFor(() => dns.incus?.ready === true, 5000)
      const [address] = await rdata(dns.port, 'shop.example.org')
      expect(address).toBe('127.0.0.1')
      await waitFor(() => out.includes('serving initial configuration') || caddy?.exitCode !== null, 10_000, () => out)
      const body = await new Promise<string>((resolve, reject) => {
        http.get({ host: address, port: caddyPort, path: '/', headers: { host: `shop.example.org:${caddyPort}` } }, (res) => {
          let b = ''
          res.on('data', (d: Buffer) => { b += d.toString() })
          res.on('end', () => resolve(b))
        }).on('error', reject)
      })
      expect(body).toBe(`served by app for shop.example.org:${caddyPort}`)
    } finally {
      await dns.stop()
      await sim.close()
    }
  }, 30_000)
})
