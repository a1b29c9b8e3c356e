/**
 * Differential: knotd serves the same zone files; every case goes to both and the answers must be the
 * same, SOA serials included, but for the differences listed in the case table (`knotDiffers`, each with its reason).
 */
import { execFile } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { havePeer } from '../helpers/binaries.ts'
import { dig } from '../helpers/dig.ts'
import { startKnotd } from '../helpers/knotd.ts'
import type { Knotd } from '../helpers/knotd.ts'
import { startServer } from '../helpers/server.ts'
import { CASES, TYPE_CASES, ZONES_DIR } from './cases.ts'
import { expectSameAsKnot } from './differential.ts'

describe.skipIf(!havePeer('knotd', 'knot') || !havePeer('dig', 'bind9-dnsutils'))('incus-dns vs knotd on the same zone', () => {
  let server: Awaited<ReturnType<typeof startServer>>
  let knot: Knotd
  beforeAll(async () => {
    server = await startServer(ZONES_DIR)
    knot = await startKnotd(ZONES_DIR, [
      { domain: 'example.org', file: 'example.org.zone' },
      { domain: '2.0.192.in-addr.arpa', file: '2.0.192.in-addr.arpa.zone' },
    ])
  }, 20_000)
  afterAll(async () => { await server?.stop(); await knot?.stop() })

  const comparable = [...CASES, ...TYPE_CASES].filter((c) => c.knotDiffers === undefined && c.rcode !== 'REFUSED')
  it.each(comparable)('$qname $qtype: same answer as knotd', async (c) => {
    const [ours, theirs] = await expectSameAsKnot(server.port, knot.port, c.qname, c.qtype, { args: c.args, serials: true })
    expect(ours.opt).toBe(theirs.opt)
  })

  it('a DNAME loop: NOERROR and the chain round it once from both; the records after that differ', async () => {
    // dc7 → dc8 → dc7: knotd writes each DNAME once and then repeats CNAMEs up to its own limit; we stop where
    // the loop closes, as for a CNAME loop. A resolver fails the loop either way.
    const [ours, theirs] = await Promise.all([dig('127.0.0.1', server.port, 'x.dc7.example.org', 'A'), dig('127.0.0.1', knot.port, 'x.dc7.example.org', 'A')])
    const round = ['dc7.example.org. 3600 IN DNAME dc8.example.org.', 'x.dc7.example.org. 3600 IN CNAME x.dc8.example.org.',
      'dc8.example.org. 3600 IN DNAME dc7.example.org.', 'x.dc8.example.org. 3600 IN CNAME x.dc7.example.org.']
    expect(ours.rcode).toBe('NOERROR')
    expect(theirs.rcode).toBe('NOERROR')
    expect(ours.answer).toEqual(round)
    expect(theirs.answer.slice(0, 4)).toEqual(round)
  })

  it('both refuse names outside their zones', async () => {
    const [ours, theirs] = await Promise.all([
      dig('127.0.0.1', server.port, 'example.com', 'A'),
      dig('127.0.0.1', knot.port, 'example.com', 'A'),
    ])
    expect(ours.rcode).toBe('REFUSED')
    expect(theirs.rcode).toBe('REFUSED')
  })

  it('UPDATE (nsupdate): knotd answers NOTAUTH, we NOTIMP (RFC 2136 3 allows either); neither FORMERR', async () => {
    const update = (port: number): Promise<string> => new Promise((resolve) => {
      const child = execFile('nsupdate', ['-t', '2'], (_err, stdout, stderr) => resolve(stdout + stderr))
      child.stdin?.end(`server 127.0.0.1 ${port}\nzone example.org\nupdate add new.example.org 60 A 192.0.2.9\nsend\n`)
    })
    const [ours, theirs] = await Promise.all([update(server.port), update(knot.port)])
    expect(ours).toContain('update failed: NOTIMP')
    expect(theirs).toContain('update failed: NOTAUTH')
  })
})
