/**
 * DNS cookies with real clients: dig +cookie and kdig +cookie get a server cookie and are proven when they
 * hand it back; a malformed option is FORMERR; require mode answers BADCOOKIE (with a fresh cookie) or an
 * empty TC reply over UDP, and TCP as usual; a rotation keeps the previous secret's cookies for one more
 * rotation; worker threads answer with the same secret and follow a rotation; and knotd's cookies module,
 * sharing the secret, takes our cookies and we take its (RFC 9018's point: servers behind one address).
 */
import { mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/load.ts'
import { havePeer } from '../helpers/binaries.ts'
import { dig, kdig } from '../helpers/dig.ts'
import type { DigResult } from '../helpers/dig.ts'
import { startKnotd } from '../helpers/knotd.ts'
import type { Knotd } from '../helpers/knotd.ts'
import { startServer } from '../helpers/server.ts'
import type { TestServer } from '../helpers/server.ts'

const ZONES = new URL('../fixtures/zones/conformance/', import.meta.url).pathname
const SECRET = 'e5e973e5a6b2a43f48e7dc849e37bfcf'
const CLIENT = '2464c4abcf10c957'

/** The cookie a reply carries, as hex (dig and kdig write it differently), or null. */
function cookieOf(r: DigResult): string | null {
  const m = /^;{1,2} COOKIE: ([0-9A-Fa-f]+)/m.exec(r.raw)
  return m === null ? null : (m[1] as string).toLowerCase()
}

describe.skipIf(!havePeer('dig', 'bind9-dnsutils') || !havePeer('kdig', 'knot-dnsutils'))('DNS cookies', () => {
  let server: TestServer
  let strict: TestServer
  const ask = (s: TestServer, args: string[], type = 'A'): Promise<DigResult> => dig('127.0.0.1', s.port, 'web.example.org', type, { args })
  beforeAll(async () => {
    server = await startServer(ZONES, ['--cookie-secret', SECRET])
    strict = await startServer(ZONES, ['--cookies', 'require'])
  })
  afterAll(async () => { await server?.stop(); await strict?.stop() })

  it('dig +cookie: the client cookie comes back with a 16-octet server cookie of version 1; handed back, it is kept', async () => {
    const first = await ask(server, [`+cookie=${CLIENT}`])
    const cookie = cookieOf(first)
    expect(cookie).toMatch(new RegExp(`^${CLIENT}01000000[0-9a-f]{24}$`))
    expect(first.raw).toContain('(good)') // dig's own check: our reply echoed its client cookie
    const again = await ask(server, [`+cookie=${cookie}`])
    expect(cookieOf(again)).toBe(cookie) // valid and fresh: handed back as it came
    const metrics = await (await fetch(`http://127.0.0.1:${server.http?.address.port}/metrics`)).text()
    expect(metrics).toMatch(/^incus_dns_cookies_total\{result="issued"\} [1-9]/m)
    expect(metrics).toMatch(/^incus_dns_cookies_total\{result="proven"\} [1-9]/m)
    expect(again.answer).toEqual(['web.example.org. 60 IN A 192.0.2.80'])
  })

  it('kdig +cookie gets one too', async () => {
    const r = await kdig('127.0.0.1', server.port, 'web.example.org', 'A', { args: ['+cookie'] })
    expect(r.rcode).toBe('NOERROR')
    expect(cookieOf(r)).toMatch(/^[0-9a-f]{16}01000000[0-9a-f]{24}$/)
  })

  it('a malformed cookie option (5 octets) is FORMERR; no cookie, no cookie back', async () => {
    expect((await ask(server, ['+nocookie', '+ednsopt=10:0102030405'])).rcode).toBe('FORMERR')
    expect(await (await fetch(`http://127.0.0.1:${server.http?.address.port}/metrics`)).text()).toMatch(/^incus_dns_cookies_total\{result="malformed"\} 1$/m)
    expect(cookieOf(await ask(server, ['+nocookie']))).toBeNull()
  })

  it('require mode: BADCOOKIE with a fresh cookie, then answered with it; no client cookie, an empty TC reply; TCP answered', async () => {
    const bad = await ask(strict, [`+cookie=${CLIENT}`, '+nobadcookie'])
    expect(bad.rcode).toBe('BADCOOKIE')
    expect(bad.answer).toEqual([])
    const cookie = cookieOf(bad) as string
    expect(cookie).toMatch(new RegExp(`^${CLIENT}01000000`))
    const ok = await ask(strict, [`+cookie=${cookie}`])
    expect(ok.rcode).toBe('NOERROR')
    expect(ok.answer).toEqual(['web.example.org. 60 IN A 192.0.2.80'])
    const tc = await ask(strict, ['+nocookie', '+ignore'])
    expect(tc.flags).toContain('tc')
    expect(tc.answer).toEqual([])
    const noEdns = await ask(strict, ['+noedns', '+ignore'])
    expect(noEdns.flags).toContain('tc')
    expect((await dig('127.0.0.1', strict.port, 'web.example.org', 'A', { tcp: true, args: ['+nocookie'] })).answer).toHaveLength(1)
    // dig's default: it retries BADCOOKIE with the cookie it was given, and gets its answer.
    expect((await ask(strict, [`+cookie=${CLIENT}`])).answer).toHaveLength(1)
    const metrics = await (await fetch(`http://127.0.0.1:${strict.http?.address.port}/metrics`)).text()
    for (const result of ['proven', 'badcookie', 'tc']) expect(metrics).toMatch(new RegExp(`^incus_dns_cookies_total\\{result="${result}"\\} [1-9]`, 'm'))
  })

  it('a rotation keeps the previous secret for one more: a cookie is taken after one, replaced after two', async () => {
    const s = await startServer(ZONES, [])
    try {
      const cookie = cookieOf(await ask(s, [`+cookie=${CLIENT}`])) as string
      s.cookies?.rotate()
      expect(cookieOf(await ask(s, [`+cookie=${cookie}`]))).toBe(cookie)
      s.cookies?.rotate()
      const renewed = cookieOf(await ask(s, [`+cookie=${cookie}`]))
      expect(renewed).not.toBe(cookie)
      expect(renewed?.slice(0, 16)).toBe(CLIENT)
    } finally { await s.stop() }
  })

  it('the generated secret is kept beside the state file (mode 0600): a restart keeps clients\' cookies', async () => {
    const stateFile = join(mkdtempSync(join(tmpdir(), 'incus-dns-cookie-state-')), 'state.json')
    const one = await startServer(ZONES, ['--state-file', stateFile])
    const cookie = cookieOf(await ask(one, [`+cookie=${CLIENT}`])) as string
    await one.stop()
    expect(statSync(`${stateFile}.cookie-secret`).mode & 0o777).toBe(0o600)
    const two = await startServer(ZONES, ['--state-file', stateFile])
    try {
      expect(cookieOf(await ask(two, [`+cookie=${cookie}`]))).toBe(cookie)
    } finally { await two.stop() }
  })

  it('a secret that is not 32 hex digits stops start-up with one line and the fix', () => {
    expect(() => loadConfig(['--cookie-secret', 'abc'], {})).toThrow("INCUS_DNS_COOKIE_SECRET (--cookie-secret): must be 32 hex digits (16 octets), or two of them as 'new,old' (the value is not shown: it is a secret); make one with: openssl rand -hex 16")
  })

  it('worker threads answer with the same secret, and follow a rotation', async () => {
    const s = await startServer(ZONES, ['--workers', '3'])
    try {
      // dig binds a new source port each time, so the kernel spreads these over the threads.
      const cookie = cookieOf(await ask(s, [`+cookie=${CLIENT}`])) as string
      const back = await Promise.all(Array.from({ length: 24 }, () => ask(s, [`+cookie=${cookie}`])))
      expect(new Set(back.map(cookieOf))).toEqual(new Set([cookie]))
      s.cookies?.rotate()
      s.cookies?.rotate()
      await new Promise((r) => setTimeout(r, 100)) // the workers' message
      const after = await Promise.all(Array.from({ length: 24 }, () => ask(s, [`+cookie=${cookie}`])))
      expect(after.every((r) => cookieOf(r) !== cookie)).toBe(true)
    } finally { await s.stop() }
  })

  describe.skipIf(!havePeer('knotd', 'knot'))("with knotd's cookies module sharing the secret", () => {
    let knot: Knotd
    beforeAll(async () => {
      knot = await startKnotd(ZONES, [{ domain: 'example.org', file: 'example.org.zone' }, { domain: '2.0.192.in-addr.arpa', file: '2.0.192.in-addr.arpa.zone' }], [],
        { sections: ['mod-cookies:', '  - id: default', `    secret: 0x${SECRET}`], template: ['global-module: mod-cookies/default'] })
    }, 20_000)
    afterAll(async () => { await knot?.stop() })

    it("knotd's cookie is valid here, and ours there", async () => {
      const theirs = cookieOf(await dig('127.0.0.1', knot.port, 'web.example.org', 'A', { args: [`+cookie=${CLIENT}`] })) as string
      expect(theirs).toMatch(new RegExp(`^${CLIENT}01000000`))
      expect(cookieOf(await ask(server, [`+cookie=${theirs}`]))).toBe(theirs) // taken as ours: handed back as it came
      const ours = cookieOf(await ask(server, ['+cookie=0807060504030201'])) as string
      const there = await dig('127.0.0.1', knot.port, 'web.example.org', 'A', { args: [`+cookie=${ours}`, '+nobadcookie'] })
      expect(there.rcode).toBe('NOERROR') // knotd answers it: no BADCOOKIE
      expect(cookieOf(there)).toBe(ours)
    })
  })
})
