/**
 * The production path tells the truth (issue 26), as a user and a tester found it: an empty suffix is named at
 * start and by check (3); check is as strict as start-up, reads --env-file, and names every bad line of a zone
 * file in one run (6); settings that cannot work are refused at start and by check with one line (7); a unix
 * socket path with '#', a space or ':' works; temporary files never follow a planted link, and a cookie
 * secret others can read is said (8).
 */
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { writeFileAtomic } from '../../src/atomic-file.ts'
import { cookieKeeper } from '../../src/cli/cookies.ts'
import { saveState } from '../../src/incus/state-file.ts'
import { SimIncus } from '../../src/sim/server.ts'
import { dig } from '../helpers/dig.ts'
import { captureLog, startWithIncus } from '../helpers/incus.ts'
import { startServer, statusOf } from '../helpers/server.ts'
import { ask, rdata } from '../helpers/answers.ts'
import { waitFor } from '../helpers/net.ts'
import { ZONES_DIR } from '../conformance/cases.ts'

const BIN = new URL('../../src/cli/bin.ts', import.meta.url).pathname
const ZONES = new URL('../../zones/', import.meta.url).pathname

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 15_000 })
}
const tmp = (): string => mkdtempSync(join(tmpdir(), 'idns-prod-'))

describe('the production path (issue 26)', () => {
  it('3: Incus on and no INCUS_DNS_SUFFIX: start-up warns naming it, and check calls it a problem', async () => {
    const r = run(['check', '--zones-dir', ZONES_DIR, '--incus-socket', '/run/nonexistent-incus.socket'])
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('incus-dns check: INCUS_DNS_SUFFIX (--suffix) is empty, so no instance gets a name <name>.<suffix>')
    expect(run(['check', '--zones-dir', ZONES_DIR, '--incus-socket', '/run/nonexistent-incus.socket', '--suffix', 'incus.example.org']).status).toBe(0)
    const child = spawn(process.execPath, [BIN, '--zones-dir', ZONES_DIR, '--incus-socket', '/run/nonexistent-incus.socket', '--listen', '127.0.0.1:0', '--http-listen', ''], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    try {
      await waitFor(() => out.includes('answering DNS'), 10_000, () => out)
      const line = out.split('\n').find((l) => l.includes('INCUS_DNS_SUFFIX (--suffix) is empty'))
      expect(JSON.parse(line ?? '{}')).toMatchObject({ level: 40 })
    } finally {
      const gone = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await gone
    }
  }, 20_000)

  it('5: an RRset too big for any message: over TCP the records that fit, TC set, said once in the log; over UDP TC', async () => {
    const dir = tmp()
    const srv = Array.from({ length: 4000 }, (_, i) => `_x._tcp IN SRV 0 1 ${1000 + i} host${i}.example.net.`).join('\n')
    writeFileSync(join(dir, 'example.net.zone'), `$TTL 300\n@ SOA ns hostmaster 1 7200 900 1209600 300\n${srv}\n`)
    const { log, lines } = captureLog()
    const server = await startServer(dir, [], {}, log)
    try {
      const tcp = await dig('127.0.0.1', server.port, '_x._tcp.example.net', 'SRV', { tcp: true })
      expect(tcp.rcode).toBe('NOERROR')
      expect(tcp.flags).toContain('tc')
      expect(tcp.answer.length).toBeGreaterThan(1000)
      expect(tcp.answer.length).toBeLessThan(4000)
      expect(tcp.raw).not.toMatch(/malformed|parse/i)
      const udp = await dig('127.0.0.1', server.port, '_x._tcp.example.net', 'SRV', { args: ['+ignore'] })
      expect(udp.flags).toContain('tc')
      expect(udp.answer).toEqual([])
      await dig('127.0.0.1', server.port, '_x._tcp.example.net', 'SRV', { tcp: true })
      const warned = lines.filter((l) => String(l.msg).startsWith('an RRset too big for any DNS message'))
      expect(warned).toEqual([expect.objectContaining({ name: '_x._tcp.example.net', type: 'SRV', kept: tcp.answer.length, total: 4000 })])
    } finally {
      await server.stop()
    }
  })

  it('9: what the status page says a name does is what a query gets: a hostname outside every zone, a losing stack\'s replica', async () => {
    const sim = new SimIncus()
    const socket = join(tmp(), 'incus.socket')
    await sim.listenUnix(socket)
    sim.launch({ name: 'outside', ipv4: '10.42.0.5', config: { 'user.dns.hostname': 'outside.example.net.' } })
    sim.launch({ name: 'a-1', ipv4: '10.42.0.6', config: { 'user.label.incus-compose.project': 'a', 'user.label.incus-compose.service': 'web' } })
    sim.launch({ name: 'b-1', ipv4: '10.42.0.7', config: { 'user.label.incus-compose.project': 'b', 'user.label.incus-compose.service': 'web' } })
    const { server } = await startWithIncus(ZONES, ['--incus-socket', socket, '--suffix', 'incus.example.org'])
    try {
      await waitFor(() => server.incus?.ready === true, 5000)
      const s = await statusOf(server)
      const row = (k: string) => s.instances.find((r) => r.instance === k)
      // outside.example.net is in no zone: REFUSED to a query, and not among the names the page says answer.
      expect((await ask(server.port, 'outside.example.net')).rcode).toBe(5)
      expect(row('default/outside')?.names).toEqual(['outside.incus.example.org'])
      expect(row('default/outside')?.detail).toContain('refused: user.dns.hostname=outside.example.net (no-zone)')
      // b-1 lost web.incus.example.org to stack a: the query gets a-1 only, and the page says so.
      expect(await rdata(server.port, 'web.incus.example.org')).toEqual(['10.42.0.6'])
      expect(row('default/b-1')?.names).toEqual(['b-1.incus.example.org'])
      expect(row('default/b-1')?.detail).toContain("not answered: web.incus.example.org (stack 'a' keeps web.incus.example.org)")
      expect(row('default/a-1')?.names).toEqual(['a-1.incus.example.org', 'web.incus.example.org'])
    } finally {
      await server.stop()
      await sim.close()
    }
  })

  it('6: check says what start-up says of a misspelt variable, and reads --env-file as the unit does', () => {
    const r = run(['check', '--zones-dir', ZONES_DIR, '--incus-socket', 'none'], { INCUS_DNS_RRL_LOGONLY: 'true' })
    expect(r.status).toBe(1)
    expect(r.stderr.trim()).toBe('incus-dns check: INCUS_DNS_RRL_LOGONLY is not a setting of incus-dns and is ignored; did you mean INCUS_DNS_RRL_LOG_ONLY?')
    const dir = tmp()
    const envFile = join(dir, 'incus-dns')
    writeFileSync(envFile, `# /etc/default/incus-dns\nINCUS_DNS_INCUS_SOCKET=none\nINCUS_DNS_ZONES_DIR="${ZONES_DIR}"\n`)
    const ok = run(['check', '--env-file', envFile])
    expect(ok.status, ok.stderr).toBe(0)
    expect(ok.stdout).toMatch(/^zone example\.org: serial/m)
    writeFileSync(envFile, 'INCUS_DNS_INCUS_SOCKET=none\nINCUS_DNS_LISTEN=nowhere\n')
    const bad = run(['check', '--env-file', envFile])
    expect(bad.status).toBe(2)
    expect(bad.stderr).toContain('INCUS_DNS_LISTEN (--listen):')
    writeFileSync(envFile, 'this line is not NAME=value\n')
    expect(run(['check', '--env-file', envFile]).stderr.trim()).toBe(`incus-dns: --env-file: ${envFile}:1: not NAME=value`)
  })

  it('6: a zone file with four errors: four lines in one run of check', () => {
    const dir = tmp()
    writeFileSync(join(dir, 'example.net.zone'), ['$TTL 300', '@ SOA ns hostmaster 1 7200 900 1209600 300', 'a A 999.1.1.1', 'b AAAA nope', 'c MX x', 'd BOGUS 1', 'e A 192.0.2.1', ''].join('\n'))
    const r = run(['check', '--zones-dir', dir, '--incus-socket', 'none'])
    expect(r.status).toBe(1)
    const lines = r.stderr.trim().split('\n')
    expect(lines.map((l) => /\.zone:(\d+):/.exec(l)?.[1])).toEqual(['3', '4', '5', '6'])
  })

  it.each([
    ['INCUS_DNS_POLL_INTERVAL', '1000h', /is longer than 24 days, the most a timer can wait/],
    ['INCUS_DNS_CACHE_SIZE', '4294967296', /is more than 10000000 answers/],
    ['INCUS_DNS_TCP_IDLE_TIMEOUT', '0s', /is shorter than 100ms \(0 would never close an idle connection\)/],
    ['INCUS_DNS_TSIG_KEY', 'k:AA==', /the secret is 1 octets, fewer than 16/],
  ])('7: %s=%s is refused at start and by check, in one line naming the setting', (env, value, message) => {
    for (const args of [['--incus-socket', 'none', '--zones-dir', ZONES_DIR, '--listen', '127.0.0.1:0'], ['check', '--incus-socket', 'none', '--zones-dir', ZONES_DIR]]) {
      const r = run(args, { [env]: value })
      expect(r.status).toBe(2)
      const lines = r.stderr.trim().split('\n')
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(new RegExp(`^incus-dns: ${env} \\(--`))
      expect(lines[0]).toMatch(message)
    }
  })

  it('7: a client certificate or key whose PEM body is garbage is refused at start and by check', () => {
    const dir = tmp()
    const cert = join(dir, 'client.crt')
    const key = join(dir, 'client.key')
    writeFileSync(cert, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n')
    writeFileSync(key, '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n')
    const args = ['--zones-dir', ZONES_DIR, '--incus-url', 'https://192.0.2.10:8443', '--incus-tls-cert', cert, '--incus-tls-key', key]
    const start = run([...args, '--listen', '127.0.0.1:0'])
    expect(start.status).toBe(2)
    expect(start.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^incus-dns: INCUS_DNS_INCUS_TLS_CERT: '${cert}' is not a certificate in PEM \\(.+\\); make one with`)),
      expect.stringMatching(new RegExp(`^incus-dns: INCUS_DNS_INCUS_TLS_KEY: '${key}' is not a private key in PEM`)),
    ])
    const c = run(['check', ...args, '--suffix', 'x.example.org'])
    expect(c.status).toBe(1)
    expect(c.stderr).toContain(`incus-dns check: INCUS_DNS_INCUS_TLS_CERT: '${cert}' is not a certificate in PEM`)
  })

  it('7: a folder named y.zone, a 5,000-character zones path, a missing folder: one line each, never a stack trace; a setting exits 2', () => {
    const dir = tmp()
    writeFileSync(join(dir, 'example.net.zone'), '$TTL 300\n@ SOA ns hostmaster 1 7200 900 1209600 300\n')
    mkdirSync(join(dir, 'y.zone'))
    const folder = run(['--zones-dir', dir, '--incus-socket', 'none', '--listen', '127.0.0.1:0'])
    expect(folder.status).toBe(1)
    expect(folder.stderr.trim()).toBe(`incus-dns: ${join(dir, 'y.zone')}:1: is a folder, not a zone file; rename it so that its name does not end in .zone`)
    expect(run(['check', '--zones-dir', dir, '--incus-socket', 'none']).stderr.trim()).toBe(`incus-dns check: ${join(dir, 'y.zone')}:1: is a folder, not a zone file; rename it so that its name does not end in .zone`)
    const long = `/tmp/${'x'.repeat(5000)}`
    for (const args of [['--zones-dir', long, '--incus-socket', 'none', '--listen', '127.0.0.1:0'], ['check', '--zones-dir', long, '--incus-socket', 'none']]) {
      const r = run(args)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
      expect(r.stderr).toMatch(/INCUS_DNS_ZONES_DIR \(--zones-dir\): '\/tmp\/x{95}\.\.\.\(5005 characters\)' is not a folder \(ENAMETOOLONG\)/)
      expect(r.stderr).not.toMatch(/\n\s+at /)
    }
    expect(run(['--zones-dir', '/nonexistent/zones', '--incus-socket', 'none', '--listen', '127.0.0.1:0']).status).toBe(2)
  })

  it("7: a unix socket path with '#', a space and ':' works, events included", async () => {
    const dir = tmp()
    const socket = join(dir, 'odd #dir: name.socket')
    const sim = new SimIncus()
    await sim.listenUnix(socket)
    sim.launch({ name: 'web', ipv4: '10.42.0.15' })
    const { server } = await startWithIncus(ZONES, ['--incus-socket', socket, '--suffix', 'incus.example.org'])
    try {
      await waitFor(() => server.incus?.ready === true && server.incus.eventsConnected, 5000)
      sim.launch({ name: 'later', ipv4: '10.42.0.16' })
      await waitFor(() => server.incus?.records.instances.has('default/later') === true, 3000)
    } finally {
      await server.stop()
      await sim.close()
    }
  })

  it('8: temporary files are made exclusively under unguessable names: a link planted at the old names is never followed', async () => {
    const dir = tmp()
    const victim = join(dir, 'victim')
    writeFileSync(victim, 'untouched\n')
    const file = join(dir, 'state.json')
    for (const planted of [`${file}.${process.pid}.tmp`, `${file}.tmp`, `${file}.cookie-secret.tmp`]) symlinkSync(victim, planted)
    await saveState(file, { reverseZones: [], instances: [], networks: [] })
    const keeper = cookieKeeper({ cookies: 'on', cookieSecret: null, stateFile: file }, pino({ level: 'silent' }))
    keeper?.stop()
    expect(readFileSync(victim, 'utf8')).toBe('untouched\n')
    expect(lstatSync(file).isSymbolicLink()).toBe(false)
    expect(lstatSync(`${file}.cookie-secret`).mode & 0o777).toBe(0o600)
    // A link at the target itself is replaced, not written through.
    symlinkSync(victim, join(dir, 'other.json'))
    await writeFileAtomic(join(dir, 'other.json'), 'new\n', 0o600)
    expect(readFileSync(victim, 'utf8')).toBe('untouched\n')
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp') && !lstatSync(join(dir, f)).isSymbolicLink())).toEqual([])
  })

  it('8: a cookie secret file others can read is said, with the fix', () => {
    const dir = tmp()
    const file = join(dir, 'state.json')
    cookieKeeper({ cookies: 'on', cookieSecret: null, stateFile: file }, pino({ level: 'silent' }))?.stop()
    chmodSync(`${file}.cookie-secret`, 0o644)
    const { log, lines } = captureLog()
    cookieKeeper({ cookies: 'on', cookieSecret: null, stateFile: file }, log)?.stop()
    expect(lines.find((l) => l.level === 40)?.msg).toBe(`the cookie secret file can be read by others; make it private: chmod 600 ${file}.cookie-secret`)
  })
})
