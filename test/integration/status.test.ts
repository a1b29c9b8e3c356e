/**
 * The status page at `/` ("why doesn't my instance resolve?") and its JSON twin, on a known simulated-Incus
 * setup: one instance of each reason. The page is loaded in headless Chromium (Debian's chromium), its rows
 * checked in the DOM it rendered, and a screenshot taken.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SimIncus } from '../../src/sim/server.ts'
import type { Status } from '../../src/http/status.ts'
import { havePeer, which } from '../helpers/binaries.ts'
import { simSocket, startWithIncus } from '../helpers/incus.ts'
import { udpExchange, waitFor } from '../helpers/net.ts'
import { query } from '../helpers/packets.ts'
import type { TestServer } from '../helpers/server.ts'

const ZONES = new URL('../../zones/', import.meta.url).pathname
const S = 'incus.example.org'

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version

function chromium(args: readonly string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'incus-dns-chromium-'))
  // As the machine's notes say: no sandbox as root, and nothing that reaches for the network.
  const base = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', `--user-data-dir=${dir}`]
  return new Promise((resolve, reject) => {
    execFile(which('chromium') as string, [...base, ...args], { timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      err !== null ? reject(new Error(`chromium: ${stderr.slice(-500) || err.message}`)) : resolve(stdout))
  })
}

describe('the status page', () => {
  let sim: SimIncus
  let server: TestServer
  let url: string
  beforeAll(async () => {
    const s = await simSocket()
    sim = s.sim
    sim.launch({ name: 'web', ipv4: '10.42.0.15', ipv6: 'fd42:4c81:5770:1eaf::15', config: { 'user.dns.aliases': 'www' } })
    sim.create({ name: 'db', ipv4: '10.42.0.30' }) // stopped
    sim.launch({ name: 'private', ipv4: '10.42.0.31', config: { 'user.dns.enabled': 'false' } })
    sim.launch({ name: 'slow', ipv4: '10.42.0.32', addressAfterMs: 600_000 })
    sim.launch({ name: 'alpha', ipv4: '10.42.0.33', config: { 'user.dns.hostname': 'shared' } })
    sim.launch({ name: 'beta', ipv4: '10.42.0.34', config: { 'user.dns.hostname': 'shared' } })
    for (const [i, health] of [[1, 'healthy'], [2, 'unhealthy']] as const) {
      sim.launch({ name: `app-${i}`, ipv4: `10.42.0.4${i}`, config: { 'user.label.incus-compose.project': 'shop', 'user.label.incus-compose.service': 'app', 'user.healthcheck.status': health } })
    }
    server = (await startWithIncus(ZONES, ['--incus-socket', s.socket, '--suffix', S, '--poll-interval', '60s', '--identity', 'ns-b.lab.example'])).server
    await waitFor(() => server.incus?.ready === true, 5000)
    url = `http://127.0.0.1:${server.http?.address.port}/`
  })
  afterAll(async () => { await server?.stop(); await sim?.close() })

  it('/status.json says, per instance, what it publishes or why it publishes nothing', async () => {
    const s = await (await fetch(`${url}status.json`)).json() as Status
    const by = Object.fromEntries(s.instances.map((r) => [r.instance, r]))
    expect(by['default/web']).toMatchObject({ status: 'Running', state: 'published', names: [`web.${S}`, `www.${S}`], ipv4: '10.42.0.15', ipv6: 'fd42:4c81:5770:1eaf::15' })
    expect(by['default/db']).toMatchObject({ status: 'Stopped', state: 'filtered out by state', detail: 'status Stopped is not in INCUS_DNS_STATE_FILTER' })
    expect(by['default/private']?.state).toBe('opted out')
    expect(by['default/slow']?.state).toBe('no address yet')
    expect(by['default/alpha']?.state).toBe('published')
    expect(by['default/beta']).toMatchObject({ state: 'name conflict', detail: `shared.${S} is answered for default/alpha (the first by project/name)` })
    expect(s.zones.find((z) => z.zone === S)?.records).toBeGreaterThanOrEqual(4)
    expect(s.incus).toMatchObject({ connected: true, syncErrors: 0, answeringFromStateFile: false })
    expect(s.incus?.syncs).toBeGreaterThanOrEqual(1)
    expect(s.server).toEqual({ identity: 'ns-b.lab.example', version: `incus-dns ${VERSION}` }) // which server this is
  })

  it('/ is HTML that refreshes itself and needs no JavaScript', async () => {
    const res = await fetch(url)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    const html = await res.text()
    expect(html).toContain('<meta http-equiv="refresh" content="5">')
    expect(html).not.toContain('<script')
    expect(html).toContain(`<h1>incus-dns ${VERSION} on ns-b.lab.example</h1>`)
    expect(html).toContain('<p>Off (INCUS_DNS_FORWARDERS is empty).</p>') // the setting's real name
  })

  it.skipIf(!havePeer('chromium', 'chromium'))('rendered in headless Chromium: the rows, and a screenshot', async () => {
    // Some traffic between samples, so that the graphs have lines to draw.
    for (let k = 0; k < 4; k++) {
      await Promise.all(Array.from({ length: 5 + 5 * k }, (_, i) => udpExchange(server.port, query(i % 3 === 0 ? 'nothere.incus.example.org' : 'web.incus.example.org', 'A'))))
      server.history?.sample(Date.now() + k * 10_000)
    }
    const dom = await chromium(['--dump-dom', url])
    // The graphs: inline SVG drawn on the server, no script.
    expect(dom).toContain('<h2>Last 15 minutes</h2>')
    for (const title of ['Responses per second', 'Answer latency (UDP)', 'Incus publish lag (p99)']) expect(dom).toContain(`aria-label="${title}"`)
    expect((dom.match(/<polyline /g) ?? []).length).toBeGreaterThanOrEqual(3)
    expect(dom).not.toContain('<script')
    expect(dom).toMatch(/<tr class="published"><td>default\/web<\/td><td>Running<\/td><td>published<\/td><td>web\.incus\.example\.org www\.incus\.example\.org<\/td><td>10\.42\.0\.15<\/td>/)
    expect(dom).toMatch(/<tr class="problem"><td>default\/beta<\/td><td>Running<\/td><td>name conflict<\/td>.*answered for default\/alpha/)
    expect(dom).toMatch(/<tr class="problem"><td>default\/slow<\/td><td>Running<\/td><td>no address yet<\/td>/)
    expect(dom).toMatch(/<tr class="problem"><td>default\/db<\/td><td>Stopped<\/td><td>filtered out by state<\/td>/)
    expect(dom).toContain('Event stream: <b>connected</b>')
    // The Services table: the served replica, and the withheld one with why.
    expect(dom).toMatch(/<tr class="published"><td>app\.incus\.example\.org<\/td><td>shop<\/td><td>1 of 2<\/td><td>default\/app-1<\/td><td>healthy<\/td><td>yes<\/td>/)
    expect(dom).toMatch(/<tr class="problem"><td><\/td><td><\/td><td><\/td><td>default\/app-2<\/td><td>unhealthy<\/td><td>no<\/td><td>withheld: unhealthy<\/td><\/tr>/)
    const shot = join(mkdtempSync(join(tmpdir(), 'incus-dns-shot-')), 'status.png')
    await chromium([`--screenshot=${shot}`, '--window-size=1200,900', url])
    expect(existsSync(shot)).toBe(true)
    expect(statSync(shot).size).toBeGreaterThan(10_000)
    console.log(`status page screenshot: ${shot}`)
  }, 120_000)
})
