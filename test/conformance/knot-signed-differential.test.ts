/**
 * The knotd differential, signed (issue 29): knotd signs the conformance zones with the very keys incus-dns
 * made (keymgr import-bind, each made a CSK), and every case of the case table is asked of both with DO. The
 * answer and additional sections must be the same, RRSIGs included but for their validity times and signature
 * bytes (ECDSA signatures differ each time they are made), with two kinds of cases aside, each for its reason:
 * - denials: knotd proves them with its NSEC chain, we with compact denial (one NSEC at the name asked);
 * - syntheses from a wildcard or a DNAME: knotd signs a wildcard's answer as the wildcard (Labels one short)
 *   and leaves the CNAME a DNAME synthesises unsigned; we sign both as records of the name asked.
 * The authority sections of referrals differ the same way (knotd's NSEC at a cut names the next name).
 */
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { havePeer, which } from '../helpers/binaries.ts'
import { dig } from '../helpers/dig.ts'
import type { DigResult } from '../helpers/dig.ts'
import { freePort, waitFor } from '../helpers/net.ts'
import { spawnDaemon } from '../helpers/secondaries.ts'
import type { Secondary } from '../helpers/secondaries.ts'
import { startServer } from '../helpers/server.ts'
import type { TestServer } from '../helpers/server.ts'
import { CASES, TYPE_CASES, ZONES_DIR } from './cases.ts'

const run = promisify(execFile)
const ZONES = [{ domain: 'example.org', file: 'example.org.zone' }, { domain: '2.0.192.in-addr.arpa', file: '2.0.192.in-addr.arpa.zone' }]
/** Names answered by synthesis (a wildcard, a DNAME): signed as the name asked by us, not by knotd. */
const SYNTHESIZED = /(^|\.)(apps|cn|wsub|dnamed|dn[2-5]|dc[1-5])\.example\.org$/i

/** A record with an RRSIG's validity and signature dropped, everything else kept (ECDSA signs anew each time). */
function comparable(record: string): string {
  const f = record.split(/\s+/)
  return f[3] === 'RRSIG' ? [...f.slice(0, 8), f[10], f[11]].join(' ') : record
}

describe.skipIf(!havePeer('knotd', 'knot') || !havePeer('keymgr', 'knot') || !havePeer('dig', 'bind9-dnsutils'))('incus-dns vs knotd, both signing the same zones with the same keys', () => {
  let dir: string
  let server: TestServer
  let knot: Secondary
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'incus-dns-signed-diff-'))
    server = await startServer(ZONES_DIR, ['--dnssec', 'on', '--dnssec-key-dir', join(dir, 'keys')])
    const port = await freePort()
    const kdir = join(dir, 'knot')
    const conf = join(dir, 'knot.conf')
    mkdirSync(kdir)
    writeFileSync(conf, [
      'server:', `    listen: 127.0.0.1@${port}`, `    rundir: ${dir}`, '    udp-workers: 1', '    tcp-workers: 1', '    background-workers: 1',
      'database:', `    storage: ${kdir}`,
      'policy:', '  - id: imported', '    manual: on', '    single-type-signing: on', '    algorithm: ecdsap256sha256', '    nsec3: off',
      'template:', '  - id: default', `    storage: ${ZONES_DIR}`, '    semantic-checks: off', '    journal-content: none', '    zonefile-sync: -1',
      '    dnssec-signing: on', '    dnssec-policy: imported',
      'zone:', ...ZONES.flatMap((z) => [`  - domain: ${z.domain}`, `    file: ${z.file}`]), '',
    ].join('\n'))
    for (const z of ZONES) {
      const priv = readdirSync(join(dir, 'keys')).find((f) => f.startsWith(`K${z.domain}.+013+`) && f.endsWith('.private')) as string
      await run(which('keymgr') as string, ['-c', conf, z.domain, 'import-bind', join(dir, 'keys', priv)])
      await run(which('keymgr') as string, ['-c', conf, z.domain, 'set', String(Number(/\+(\d{5})\.private$/.exec(priv)?.[1])), 'zsk=yes'])
    }
    knot = spawnDaemon('knotd', ['-c', conf], kdir, port)
    await waitFor(async () => (await dig('127.0.0.1', port, 'web.example.org', 'A', { args: ['+dnssec'] })).answer.some((l) => l.includes(' RRSIG ')), 15_000, knot.log)
  }, 30_000)
  afterAll(async () => {
    await server?.stop()
    await knot?.stop()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  const signed = [...CASES, ...TYPE_CASES].filter((c) => c.knotDiffers === undefined && c.rcode === 'NOERROR' && c.udpOnly !== true && !SYNTHESIZED.test(c.qname))
  it.each(signed)('$qname $qtype with DO: the same records and signatures as knotd', async (c) => {
    const args = ['+dnssec', ...(c.args ?? [])]
    const [ours, theirs] = await Promise.all([dig('127.0.0.1', server.port, c.qname, c.qtype, { args }), dig('127.0.0.1', knot.port, c.qname, c.qtype, { args })])
    const denial = (r: DigResult): boolean => r.answer.length === 0 || r.authority.some((l) => / IN NSEC /.test(l))
    const nsec = (l: string): boolean => / IN (NSEC|RRSIG NSEC) /.test(l)
    const view = (r: DigResult) => ({
      rcode: r.rcode,
      // knotd clears CD even when it signs; a security-aware server copies it (RFC 4035 3), as we do.
      flags: r.flags.filter((f) => f !== 'cd').sort(),
      answer: r.answer.map(comparable).sort(),
      // Denials prove with different NSECs (see above), and so does a referral's no-DS proof; the rest must match.
      authority: denial(r) ? [] : r.authority.filter((l) => !nsec(l)).map(comparable).sort(),
      // knotd adds NSECs to additional sections (an SVCB target's); we add no denial there.
      additional: r.additional.filter((l) => !nsec(l)).map(comparable).sort(),
    })
    if (denial(theirs)) expect(denial(ours), `ours:\n${ours.raw}\nknotd:\n${theirs.raw}`).toBe(true)
    expect(view(ours), `ours:\n${ours.raw}\nknotd:\n${theirs.raw}`).toEqual(view(theirs))
  })

  it('compares most of the case table (the asides are few)', () => {
    expect(signed.length).toBeGreaterThan(40)
  })
})
