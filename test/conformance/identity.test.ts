/**
 * Which server answered (INCUS_DNS_IDENTITY): NSID (RFC 5001) and the CHAOS TXT names (RFC 4892), against
 * knotd given the same identity, NSID and version, through dig: 0 differences. Then `none`, on our own.
 */
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { havePeer } from '../helpers/binaries.ts'
import { dig } from '../helpers/dig.ts'
import type { DigResult } from '../helpers/dig.ts'
import { startKnotd } from '../helpers/knotd.ts'
import type { Knotd } from '../helpers/knotd.ts'
import { startServer } from '../helpers/server.ts'
import type { TestServer } from '../helpers/server.ts'
import { ZONES_DIR } from './cases.ts'
import { expectSameAsKnot } from './differential.ts'

const ID = 'ns-a.lab.example'
const VERSION = `incus-dns ${(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version}`
/** The NSID dig printed, as text, or null when the reply had none. */
const nsidOf = (r: DigResult): string | null => /; NSID: [0-9a-f ]+ \("(.*)"\)/.exec(r.raw)?.[1] ?? null

describe.skipIf(!havePeer('knotd', 'knot') || !havePeer('dig', 'bind9-dnsutils'))('identity: NSID and CHAOS TXT, as knotd answers them', () => {
  let server: TestServer
  let knot: Knotd
  beforeAll(async () => {
    server = await startServer(ZONES_DIR, ['--identity', ID])
    knot = await startKnotd(ZONES_DIR, [{ domain: 'example.org', file: 'example.org.zone' }, { domain: '2.0.192.in-addr.arpa', file: '2.0.192.in-addr.arpa.zone' }],
      [`identity: ${ID}`, `nsid: ${ID}`, `version: "${VERSION}"`])
  }, 20_000)
  afterAll(async () => { await server?.stop(); await knot?.stop() })

  const CASES: [string, string, readonly string[]][] = [
    ['id.server', 'TXT', ['CH']], ['hostname.bind', 'TXT', ['CH']], ['version.bind', 'TXT', ['CH']], ['version.server', 'TXT', ['CH']],
    ['ID.Server', 'TXT', ['CH']], ['id.server', 'A', ['CH']], ['id.server', 'ANY', ['CH']], ['authors.bind', 'TXT', ['CH']],
    ['web.example.org', 'TXT', ['CH']], ['id.server', 'TXT', ['CH', '+nsid']],
    ['web.example.org', 'A', ['+nsid']], ['web.example.org', 'A', ['+nsid', '+dnssec']], ['nothere.example.org', 'A', ['+nsid']],
    ['sub.example.org', 'A', ['+nsid']], ['example.com', 'A', ['+nsid']], ['web.example.org', 'A', []],
    ['id.server', 'TXT', ['CH', '+tcp']], ['web.example.org', 'AAAA', ['+nsid', '+tcp']],
  ]
  it.each(CASES)('%s %s %j: the same answer and NSID as knotd', async (name, type, args) => {
    const [ours, theirs] = await expectSameAsKnot(server.port, knot.port, name, type, { args, serials: true })
    expect(nsidOf(ours)).toBe(nsidOf(theirs))
  })

  it('the CHAOS TXT answers and NSID carry the identity (the comparison above is not two empty answers)', async () => {
    const id = await dig('127.0.0.1', server.port, 'id.server', 'TXT', { args: ['CH'] })
    expect(id.answer).toEqual([`id.server. 0 CH TXT "${ID}"`])
    expect(id.flags).not.toContain('aa')
    expect((await dig('127.0.0.1', server.port, 'version.bind', 'TXT', { args: ['CH'] })).answer).toEqual([`version.bind. 0 CH TXT "${VERSION}"`])
    expect(nsidOf(await dig('127.0.0.1', server.port, 'web.example.org', 'A', { args: ['+nsid'] }))).toBe(ID)
  })
})

describe.skipIf(!havePeer('dig', 'bind9-dnsutils'))('INCUS_DNS_IDENTITY=none', () => {
  let server: TestServer
  beforeAll(async () => { server = await startServer(ZONES_DIR, ['--identity', 'none']) })
  afterAll(async () => { await server?.stop() })

  it('answers neither NSID nor CHAOS: REFUSED, as for any class but IN', async () => {
    const ch = await dig('127.0.0.1', server.port, 'id.server', 'TXT', { args: ['CH'] })
    expect(ch.rcode).toBe('REFUSED')
    expect(ch.answer).toEqual([])
    expect((await dig('127.0.0.1', server.port, 'version.bind', 'TXT', { args: ['CH'] })).rcode).toBe('REFUSED')
    const a = await dig('127.0.0.1', server.port, 'web.example.org', 'A', { args: ['+nsid'] })
    expect(a.rcode).toBe('NOERROR')
    expect(nsidOf(a)).toBeNull()
  })
})
