/**
 * The incus-dns command as a user runs it: --help, bad settings, a broken zone file, start, answer,
 * SIGHUP reload, SIGTERM; and `npm run demo` (src/cli/demo.ts), the README's first command.
 */
import { spawn, spawnSync } from 'node:child_process'
import dgram from 'node:dgram'
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SETTINGS } from '../../src/config/settings.ts'
import { ZONES_DIR } from '../conformance/cases.ts'
import { udpExchange, waitFor } from '../helpers/net.ts'
import { decode, query } from '../helpers/packets.ts'

const BIN = new URL('../../src/cli/bin.ts', import.meta.url).pathname
const DEMO = new URL('../../src/cli/demo.ts', import.meta.url).pathname

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 10_000 })
}

describe('incus-dns CLI', () => {
  it('--help lists every setting with its flag, variable and default', () => {
    const r = run(['--help'])
    expect(r.status).toBe(0)
    for (const s of Object.values(SETTINGS)) {
      expect(r.stdout).toContain(`--${s.flag}`)
      expect(r.stdout).toContain(s.env)
    }
  })

  it('stops on a bad value with one line naming the setting and what is accepted', () => {
    const r = run([], { INCUS_DNS_LISTEN: '0.0.0.0:99999' })
    expect(r.status).toBe(2)
    expect(r.stderr.trim().split('\n')).toEqual([
      "incus-dns: INCUS_DNS_LISTEN (--listen): '0.0.0.0:99999' is not host:port or [v6]:port with an IP address and port 0-65535, e.g. 127.0.0.1:5300,[::1]:5300",
    ])
  })

  it('reports every bad setting, one line each; a flag beats its variable', () => {
    const r = run(['--tcp-idle-timeout', '10'], { INCUS_DNS_LOG_LEVEL: 'loud', INCUS_DNS_TCP_IDLE_TIMEOUT: '5s' })
    expect(r.status).toBe(2)
    const lines = r.stderr.trim().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(/^incus-dns: INCUS_DNS_LOG_LEVEL \(--log-level\): 'loud' is not one of fatal, error/)
    expect(lines[1]).toBe("incus-dns: INCUS_DNS_TCP_IDLE_TIMEOUT (--tcp-idle-timeout): '10' is not a duration; write it with a unit, e.g. 500ms, 30s, 2m")
  })

  it('rejects unknown flags', () => {
    const r = run(['--listne', '127.0.0.1:53'])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain("Unknown option '--listne'")
  })

  it('stops on a broken zone file with file:line and the problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'incus-dns-zones-'))
    writeFileSync(join(dir, 'example.org.zone'), '$TTL 60\n@ SOA ns1 hostmaster 1 2 3 4 5\nbox CAA 0 is-sue "ca.example"\n')
    const r = run(['--zones-dir', dir, '--listen', '127.0.0.1:0'])
    expect(r.status).toBe(1)
    expect(r.stderr.trim()).toBe(`incus-dns: ${dir}/example.org.zone:3: CAA tag 'is-sue' must be letters and digits (issue, issuewild, iodef, ...)`)
  })

  it('names the setting when the zones folder is missing, and exits 2 as for any setting (issue 26, 7)', () => {
    const r = run(['--zones-dir', '/nonexistent/zones', '--listen', '127.0.0.1:0'])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain("INCUS_DNS_ZONES_DIR (--zones-dir): '/nonexistent/zones' is not a folder")
  })

  it('names the setting when a certificate file cannot be read', () => {
    const r = run(['--zones-dir', ZONES_DIR, '--listen', '127.0.0.1:0', '--incus-url', 'https://192.0.2.10:8443', '--incus-tls-cert', '/nonexistent/client.crt', '--incus-tls-key', '/nonexistent/client.key'])
    expect(r.status).toBe(2)
    expect(r.stderr.trim().split('\n')).toEqual([
      "incus-dns: INCUS_DNS_INCUS_TLS_CERT: cannot read the client certificate '/nonexistent/client.crt': ENOENT",
      "incus-dns: INCUS_DNS_INCUS_TLS_KEY: cannot read the client key '/nonexistent/client.key': ENOENT",
    ])
  })

  it('explains a port it cannot bind', () => {
    const r = run(['--zones-dir', ZONES_DIR, '--listen', '192.0.2.1:5300'])
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('cannot listen on UDP 192.0.2.1:5300: EADDRNOTAVAIL; no interface has this address (INCUS_DNS_LISTEN)')
  })

  it('collects garbage once after loading the zone files (the command tunes the heap; cli/heap.ts)', async () => {
    const child = spawn(process.execPath, [BIN, '--zones-dir', ZONES_DIR, '--listen', '127.0.0.1:0', '--http-listen', '', '--incus-socket', 'none', '--log-level', 'debug'], {
      env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    await waitFor(() => out.includes('answering DNS'), 10_000, () => out)
    const line = out.split('\n').map((l) => (l.startsWith('{') ? JSON.parse(l) as { msg: string; ms?: number } : null))
      .find((l) => l?.msg === 'heap collected after a bulk change (zone files loaded)')
    expect(line?.ms).toBeTypeOf('number')
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
  })

  it('serves, reloads zone files on SIGHUP (keeping the old ones when broken), and exits 0 on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'incus-dns-zones-'))
    cpSync(ZONES_DIR, dir, { recursive: true })
    const child = spawn(process.execPath, [BIN, '--zones-dir', dir, '--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0'], {
      env: { PATH: process.env.PATH ?? '', INCUS_DNS_LISTN: 'typo' }, stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    await waitFor(() => out.includes('answering DNS'), 10_000, () => out)
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(out)?.[1])
    const askWeb = async (): Promise<string[]> => decode((await udpExchange(port, query('web.example.org', 'A'))) as Buffer).answer

    expect(await askWeb()).toEqual(['web.example.org. 60 IN A 192.0.2.80'])
    expect(out).toContain('INCUS_DNS_LISTN is not a setting of incus-dns and is ignored; did you mean INCUS_DNS_LISTEN?')
    for (const line of out.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow()

    const zone = join(dir, 'example.org.zone')
    const original = readFileSync(zone, 'utf8')
    writeFileSync(zone, original.replace('web   60 IN A     192.0.2.80', 'web   60 IN A     192.0.2.81'))
    child.kill('SIGHUP')
    await waitFor(async () => (await askWeb())[0] === 'web.example.org. 60 IN A 192.0.2.81', 5000)

    writeFileSync(zone, original + 'broken IN NOSUCHTYPE "x" "y"\n')
    child.kill('SIGHUP')
    await waitFor(() => out.includes('zone reload failed'), 5000, () => out)
    expect(out).toMatch(/example\.org\.zone:\d+: unsupported record type NOSUCHTYPE/)
    expect(await askWeb()).toEqual(['web.example.org. 60 IN A 192.0.2.81'])

    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
  })
})

describe('incus-dns check', () => {
  const BAD = new URL('../fixtures/zones/bad/', import.meta.url).pathname
  it('good zones: exit 0, one line per zone with its serial and records; nothing served', () => {
    const r = run(['check', '--zones-dir', ZONES_DIR, '--incus-socket', 'none'])
    expect(r.status).toBe(0)
    expect(r.stderr).toBe('')
    expect(r.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^zone 2\.0\.192\.in-addr\.arpa: serial \d+, \d+ records \(.*2\.0\.192\.in-addr\.arpa\.zone\)$/),
      expect.stringMatching(/^zone example\.org: serial 2026010101, \d+ records \(.*example\.org\.zone\)$/),
    ])
  })

  it('broken zone files: exit 1, every broken file named with its line and the fix, not only the first', () => {
    const r = run(['check', '--zones-dir', BAD, '--incus-socket', 'none'])
    expect(r.status).toBe(1)
    const lines = r.stderr.trim().split('\n')
    expect(lines.length).toBe(readdirSync(BAD).filter((f) => f.endsWith('.zone')).length)
    expect(lines.every((l) => /^incus-dns check: \S+\.zone:\d+: /.test(l))).toBe(true)
    expect(lines).toContain(`incus-dns check: ${BAD}02_no_ttl.zone:2: no TTL for this record: give one, or add a $TTL line at the top`)
    expect(lines).toContain(`incus-dns check: ${BAD}09_cname_and_data.zone:5: www.09_cname_and_data has a CNAME and other data; a CNAME must be alone at its name (RFC 1034 3.6.2)`)
  })

  it('settings: a bad one is refused with one line (exit 2); an Incus certificate that cannot be read is a problem (exit 1); no zones folder is one', () => {
    const bad = run(['check', '--listen', 'nowhere'])
    expect(bad.status).toBe(2)
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
    const cert = run(['check', '--zones-dir', ZONES_DIR, '--incus-url', 'https://192.0.2.10:8443', '--incus-tls-cert', '/nonexistent/client.crt', '--incus-tls-key', '/nonexistent/client.key'])
    expect(cert.status).toBe(1)
    expect(cert.stderr).toContain("incus-dns check: INCUS_DNS_INCUS_TLS_CERT: cannot read the client certificate '/nonexistent/client.crt': ENOENT")
    const none = run(['check', '--zones-dir', '/nonexistent/zones', '--incus-socket', 'none'])
    expect(none.status).toBe(1)
    expect(none.stderr.trim()).toBe("incus-dns check: INCUS_DNS_ZONES_DIR (--zones-dir): '/nonexistent/zones' is not a folder (ENOENT); create it or point the setting at your zone files")
  })

  it('--help lists it', () => {
    expect(run(['--help']).stdout).toContain('incus-dns check [--flag value ...]')
  })
})

describe('npm run demo', () => {
  it('answers for the simulated instances, prints the dig commands to try, and stops on SIGINT', async () => {
    const child = spawn(process.execPath, [DEMO, '--listen', '127.0.0.1:0', '--log-level', 'warn'], {
      env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'],
    })
    let err = ''
    child.stderr.on('data', (d: Buffer) => { err += d.toString() })
    await waitFor(() => err.includes('Ctrl-C stops'), 15_000, () => err)
    const port = Number(/answering on 127\.0\.0\.1:(\d+)/.exec(err)?.[1])
    const ask = async (name: string, type: 'A' | 'AAAA' = 'A') => decode((await udpExchange(port, query(name, type))) as Buffer)
    expect((await ask('web.incus.example.org')).answer).toEqual(['web.incus.example.org. 30 IN A 10.42.0.15'])
    expect((await ask('db.incus.example.org')).rcode).toBe(3) // stopped
    // The compose service answers with its healthy replicas: shop-web-2 starts unhealthy.
    expect((await ask('shop-web.incus.example.org')).answer.sort()).toEqual(['shop-web.incus.example.org. 30 IN A 10.42.0.111', 'shop-web.incus.example.org. 30 IN A 10.42.0.113'])
    expect(err).toContain(`dig @127.0.0.1 -p ${port} web.incus.example.org +short`)
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
    child.kill('SIGINT')
    expect(await exited).toBe(0)
  }, 30_000)

  it('says in one line that its port is taken, instead of a stack trace', async () => {
    const holder = dgram.createSocket('udp4')
    await new Promise<void>((r) => holder.bind(0, '127.0.0.1', () => r()))
    try {
      const r = spawnSync(process.execPath, [DEMO, '--listen', `127.0.0.1:${holder.address().port}`], { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8', timeout: 20_000 })
      expect(r.status).toBe(1)
      expect(r.stderr.trim().split('\n')).toEqual([
        `incus-dns demo: cannot listen on UDP 127.0.0.1:${holder.address().port}: EADDRINUSE; another server (systemd-resolved, dnsmasq?) holds it, pick another port (INCUS_DNS_LISTEN)`,
      ])
    } finally {
      holder.close()
    }
  }, 30_000)
})
