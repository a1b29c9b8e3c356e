/**
 * Dynamic UPDATE with real clients (issue 25): nsupdate adds and deletes ACME challenges signed with every
 * algorithm, and is refused unsigned, under an unknown key, with a wrong secret, out of its grant, for a zone
 * not ours and when a prerequisite fails; dig and kdig ask SOA signed and check the signed answer; a knotd
 * secondary gets the TXT by IXFR after NOTIFY; a challenge in the Incus suffix zone is answered in every view;
 * the records survive a restart.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SimIncus } from '../../src/sim/server.ts'
import { havePeer } from '../helpers/binaries.ts'
import { dig } from '../helpers/dig.ts'
import { simSocket, startWithIncus } from '../helpers/incus.ts'
import type { LogLine } from '../helpers/incus.ts'
import { freePort, waitFor } from '../helpers/net.ts'
import { knotSecondary } from '../helpers/secondaries.ts'
import type { Secondary } from '../helpers/secondaries.ts'
import type { TestServer } from '../helpers/server.ts'

const ZONES = new URL('../../zones/', import.meta.url).pathname
const S = 'incus.example.org'
const Z = 'example.org'
/** One key per algorithm, each as `keymgr -t` prints it: <algorithm>:<name>:<secret>. */
const KEYS = ['hmac-md5', 'hmac-sha1', 'hmac-sha224', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512'].map((alg, i) => ({ alg, name: `${alg.slice(5)}-key`, secret: Buffer.from(`secret number ${i} for incus-dns!`).toString('base64') }))
const spec = (k: (typeof KEYS)[number]): string => `${k.alg}:${k.name}:${k.secret}`
const SHA256 = KEYS[3] as (typeof KEYS)[number]

/** nsupdate with `commands` (no `send` needed); resolves with its exit code and what it printed. */
function nsupdate(port: number, commands: string[], key: string | null): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile('nsupdate', [...(key === null ? [] : ['-y', key])], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, out: stdout + stderr })
    })
    child.stdin?.end([`server 127.0.0.1 ${port}`, ...commands, 'send', ''].join('\n'))
  })
}

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile(file, args, { timeout: 10_000 }, (err, stdout, stderr) => (err === null ? resolve(stdout + stderr) : reject(new Error(stdout + stderr)))))
}

describe.skipIf(!havePeer('nsupdate', 'bind9-dnsutils') || !havePeer('dig', 'bind9-dnsutils') || !havePeer('kdig', 'knot-dnsutils') || !havePeer('knotd', 'knot'))('dynamic UPDATE with nsupdate, dig, kdig and a knotd secondary', () => {
  let sim: SimIncus
  let socket: string
  let server: TestServer
  let lines: LogLine[]
  let knot: Secondary
  let stateFile: string
  let knotPort: number
  const args = (): string[] => ['--incus-socket', socket, '--suffix', S, '--poll-interval', '60s', '--state-file', stateFile,
    '--update-keys', KEYS.map(spec).join(','), '--xfr-allow', '127.0.0.1/32', '--notify', `127.0.0.1:${knotPort}`, '--views', 'lan=127.0.0.2/32']
  const txt = async (port: number, name: string): Promise<readonly string[]> => (await dig('127.0.0.1', port, name, 'TXT')).answer

  beforeAll(async () => {
    const s = await simSocket()
    sim = s.sim
    socket = s.socket
    sim.launch({ name: 'web', ipv4: '10.42.0.15' })
    stateFile = join(mkdtempSync(join(tmpdir(), 'idns-upd-')), 'state.json')
    knotPort = await freePort()
    ;({ server, lines } = await startWithIncus(ZONES, args()))
    await waitFor(() => server.incus?.ready === true, 5000)
    knot = knotSecondary(knotPort, server.port, Z)
    await waitFor(async () => (await dig('127.0.0.1', knot.port, Z, 'SOA')).answer.length === 1, 15_000, () => knot.log())
  }, 40_000)
  afterAll(async () => { await knot?.stop(); await server?.stop(); await sim?.close() })

  it.each(KEYS.map((k) => [k.alg, k] as const))('nsupdate signed with %s adds a challenge and deletes it; its reply verifies', async (_alg, k) => {
    const name = `_acme-challenge.${k.name}.${Z}`
    const added = await nsupdate(server.port, [`zone ${Z}`, `update add ${name} 60 TXT "token-${k.name}"`], spec(k))
    expect(added, added.out).toMatchObject({ code: 0 })
    expect(await txt(server.port, name)).toEqual([`${name}. 60 IN TXT "token-${k.name}"`])
    const deleted = await nsupdate(server.port, [`zone ${Z}`, `update delete ${name} TXT "token-${k.name}"`], spec(k))
    expect(deleted, deleted.out).toMatchObject({ code: 0 })
    expect((await dig('127.0.0.1', server.port, name, 'TXT')).rcode).toBe('NXDOMAIN')
  })

  it('refuses: unsigned, unknown key, wrong secret, out of grant, a zone not ours, a failed prerequisite; each logged once', async () => {
    const add = [`zone ${Z}`, `update add _acme-challenge.r.${Z} 60 TXT "x"`]
    const cases: [string[], string | null, RegExp][] = [
      [add, null, /update failed: REFUSED/],
      [add, `hmac-sha256:nobody:${SHA256.secret}`, /NOTAUTH\(BADKEY\)/],
      [add, `hmac-sha256:${SHA256.name}:${Buffer.from('a different secret, same length!').toString('base64')}`, /NOTAUTH\(BADSIG\)/],
      [[`zone ${Z}`, `update add evil.${Z} 60 A 192.0.2.66`], spec(SHA256), /update failed: REFUSED/],
      [['zone example.net', 'update add _acme-challenge.example.net 60 TXT "x"'], spec(SHA256), /update failed: NOTAUTH/],
      [[`zone ${Z}`, `prereq nxdomain www.${Z}`, `update add _acme-challenge.r.${Z} 60 TXT "x"`], spec(SHA256), /update failed: YXDOMAIN/],
    ]
    for (const [commands, key, expected] of cases) {
      const r = await nsupdate(server.port, commands, key)
      expect(r.code, r.out).not.toBe(0)
      expect(r.out).toMatch(expected)
    }
    expect((await dig('127.0.0.1', server.port, `_acme-challenge.r.${Z}`, 'TXT')).rcode).toBe('NXDOMAIN')
    expect((await dig('127.0.0.1', server.port, `evil.${Z}`, 'A')).rcode).toBe('NXDOMAIN')
    // Twice the same refusal: one line.
    await nsupdate(server.port, add, null)
    const refused = lines.filter((l) => l.msg === 'dynamic update refused')
    expect(refused.map((l) => `${String(l.key)} ${String(l.rcode)}`)).toEqual([
      '- REFUSED', 'nobody NOTAUTH', `${SHA256.name} NOTAUTH`, `${SHA256.name} REFUSED`, `${SHA256.name} NOTAUTH`, `${SHA256.name} YXDOMAIN`,
    ])
    const metrics = await (await fetch(`http://127.0.0.1:${server.http?.address.port}/metrics`)).text()
    expect(metrics).toMatch(/^incus_dns_updates_total\{result="refused"\} 3$/m)
    expect(metrics).toMatch(/^incus_dns_updates_total\{result="yxdomain"\} 1$/m)
  })

  it('finds the zone as ACME clients do, by SOA of the full name, signed (dig -y, kdig -y): the answer is signed and verifies', async () => {
    const name = `_acme-challenge.www.${Z}`
    const digOut = await run('dig', ['@127.0.0.1', '-p', String(server.port), name, 'SOA', '-y', spec(SHA256)])
    expect(digOut).toMatch(/status: NXDOMAIN/) // no such name yet: the zone's SOA in authority says whose it is
    expect(digOut).toMatch(new RegExp(`${SHA256.name}\\.\\s+0\\s+ANY\\s+TSIG\\s+hmac-sha256\\. \\d+ 300 32 \\S+ \\d+ NOERROR 0`))
    expect(digOut).not.toMatch(/tsig verify failure|expected a TSIG/i)
    expect(digOut).toMatch(new RegExp(`^${Z.replace('.', '\\.')}\\.\\s+\\d+\\s+IN\\s+SOA\\s`, 'm'))
    const kdigOut = await run('kdig', ['@127.0.0.1', '-p', String(server.port), '+tcp', name, 'SOA', '-y', spec(SHA256)])
    expect(kdigOut).toMatch(/status: NXDOMAIN/)
    expect(kdigOut).not.toMatch(/WARNING|failed/i)
    // In the suffix zone too, and from the view's clients.
    const inView = await run('dig', ['@127.0.0.1', '-b', '127.0.0.2', '-p', String(server.port), `_acme-challenge.web.${S}`, 'SOA', '-y', spec(SHA256)])
    expect(inView).toMatch(new RegExp(`AUTHORITY SECTION:\\n${S.replace(/\./g, '\\.')}\\.\\s`))
    const wrong = await run('dig', ['@127.0.0.1', '-p', String(server.port), name, 'SOA', '-y', `hmac-sha256:nobody:${SHA256.secret}`]).catch((e: Error) => e.message)
    expect(wrong).toMatch(/NOTAUTH|BADKEY/)
  })

  it('a challenge in the Incus suffix zone is answered in every view; knotd gets the TXT by IXFR after NOTIFY', async () => {
    const ixfr = server.transferStats.ixfr
    await waitFor(() => server.notifier?.throttling === false, 5000)
    const name = `_acme-challenge.${Z}`
    expect((await nsupdate(server.port, [`zone ${Z}`, `update add ${name} 60 TXT "for-knot"`], spec(SHA256))).code).toBe(0)
    const t0 = Date.now()
    await waitFor(async () => (await txt(knot.port, name)).length === 1, 5000, () => knot.log())
    console.log(`knotd answered the updated TXT ${Date.now() - t0} ms after nsupdate returned`)
    expect(server.transferStats.ixfr).toBeGreaterThan(ixfr)
    const inSuffix = `_acme-challenge.web.${S}`
    expect((await nsupdate(server.port, [`zone ${S}`, `update add ${inSuffix} 60 TXT "suffix"`], spec(SHA256))).code).toBe(0)
    expect(await txt(server.port, inSuffix)).toEqual([`${inSuffix}. 60 IN TXT "suffix"`])
    const fromView = await run('dig', ['@127.0.0.1', '-b', '127.0.0.2', '-p', String(server.port), '+short', inSuffix, 'TXT'])
    expect(fromView.trim()).toBe('"suffix"')
  })

  it('the records survive a restart, served again before Incus is asked', async () => {
    const name = `_acme-challenge.kept.${Z}`
    expect((await nsupdate(server.port, [`zone ${Z}`, `update add ${name} 60 TXT "kept"`], spec(SHA256))).code).toBe(0)
    await server.stop()
    ;({ server, lines } = await startWithIncus(ZONES, args()))
    expect(await txt(server.port, name)).toEqual([`${name}. 60 IN TXT "kept"`])
    expect(await txt(server.port, `_acme-challenge.web.${S}`)).toEqual([`_acme-challenge.web.${S}. 60 IN TXT "suffix"`])
    expect(lines.find((l) => l.msg === 'records of dynamic updates put back')).toMatchObject({ records: 3, waitingForTheirZone: 0 })
  })
})
