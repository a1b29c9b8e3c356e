/**
 * $GENERATE against BIND, whose extension it is: named-compilezone (bind9-utils) expands the fixture zones,
 * and (1) the records we read from the $GENERATE files equal the records of BIND's expansion, and (2) we,
 * serving the $GENERATE files, answer as knotd serving BIND's expansion (knotd reads no $GENERATE), through
 * dig, 0 differences. Bad $GENERATE lines stop us with file:line, and BIND refuses them too.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseZoneFile } from '../../src/zone/file/parse.ts'
import { havePeer } from '../helpers/binaries.ts'
import { startKnotd } from '../helpers/knotd.ts'
import type { Knotd } from '../helpers/knotd.ts'
import { startServer } from '../helpers/server.ts'
import { expectSameAsKnot } from './differential.ts'

const run = promisify(execFile)
const FIXTURES = join(import.meta.dirname, '../fixtures/zones/generate')
const ZONES = readdirSync(FIXTURES).filter((f) => f.endsWith('.zone')).map((f) => f.slice(0, -'.zone'.length)).sort()

/** BIND's expansion of `file` for `origin`, as a master file with every record written out. */
async function bindExpansion(origin: string, file: string, out: string): Promise<void> {
  await run('named-compilezone', ['-q', '-s', 'full', '-o', out, origin, file])
}

/** What `named-checkzone` says of a zone file: ok, or its complaint. */
async function bindCheck(origin: string, file: string): Promise<string> {
  try {
    await run('named-checkzone', [origin, file])
    return 'ok'
  } catch (err) {
    return `${(err as { stdout?: string }).stdout ?? ''}${(err as Error).message}`
  }
}

const records = (file: string, origin: string): string[] =>
  parseZoneFile(file, readFileSync(file, 'utf8'), origin).records.map((r) => JSON.stringify(r)).sort()

const haveAll = havePeer('named-compilezone', 'bind9-utils') && havePeer('knotd', 'knot') && havePeer('dig', 'bind9-dnsutils')

describe.skipIf(!haveAll)('$GENERATE: the same records and answers as BIND\'s expansion', () => {
  const expanded = mkdtempSync(join(tmpdir(), 'incus-dns-generate-'))
  let server: Awaited<ReturnType<typeof startServer>>
  let knot: Knotd
  beforeAll(async () => {
    for (const z of ZONES) await bindExpansion(z, join(FIXTURES, `${z}.zone`), join(expanded, `${z}.zone`))
    server = await startServer(FIXTURES)
    knot = await startKnotd(expanded, ZONES.map((z) => ({ domain: z, file: `${z}.zone` })))
  }, 30_000)
  afterAll(async () => { await server?.stop(); await knot?.stop() })

  it.each(ZONES)('%s: every record BIND makes, and no other', (z) => {
    const ours = records(join(FIXTURES, `${z}.zone`), z)
    const bind = records(join(expanded, `${z}.zone`), z)
    expect(ours.length).toBeGreaterThan(10)
    expect(ours).toEqual(bind)
  })

  const V6 = `${'0.'.repeat(20)}8.b.d.0.1.0.0.2.ip6.arpa` // 4 nibbles from ${0,7,n}, 20 zeros, the zone's 8
  const QUERIES: [string, string][] = [
    ['dhcp-10.gen.example', 'A'], ['dhcp-20.gen.example', 'A'], ['dhcp-21.gen.example', 'A'],
    ['pc001.gen.example', 'A'], ['pc009.gen.example', 'A'], ['pc002.gen.example', 'A'],
    ['v6-3.gen.example', 'AAAA'], ['h02.gen.example', 'A'], ['oct012.gen.example', 'A'],
    ['hexFA.gen.example', 'CNAME'], ['txt2.gen.example', 'TXT'], ['mx3.gen.example', 'MX'],
    ['_sip._udp.sip2.gen.example', 'SRV'], ['host.sub1.gen.example', 'A'], ['www.gen.example', 'TXT'],
    ['w2.gen.example', 'A'], ['w2.gen.example', 'TXT'],
    ['15.2.0.192.in-addr.arpa', 'PTR'], ['100.2.0.192.in-addr.arpa', 'PTR'], ['9.2.0.192.in-addr.arpa', 'PTR'], ['64/26.2.0.192.in-addr.arpa', 'NS'], ['70.64/26.2.0.192.in-addr.arpa', 'PTR'],
    [`2.0.0.0.${V6}`, 'PTR'], [`a.f.f.0.${V6}`, 'PTR'], [`0.0.0.1.${V6}`, 'PTR'],
  ]
  it.each(QUERIES)('%s %s: the same answer as knotd on the expansion', async (name, type) => {
    await expectSameAsKnot(server.port, knot.port, name, type, { serials: true })
  })

  const BAD: [string, RegExp][] = [
    ['$GENERATE 5-1 h$ A 192.0.2.$', /:6: \$GENERATE: the range 5-1 starts after it ends/],
    ['$GENERATE 1-3 h${1,2,q} A 192.0.2.$', /:6: \$GENERATE: '\$\{1,2,q\}' is not \$\{offset\}/],
    ['$GENERATE 1-2 mx$ MX 10 mail$', /:6: \$GENERATE takes one rdata field after the type MX; quote it/],
    ['$GENERATE 250-260 h$ A 192.0.2.$', /:6: \$GENERATE, for 256 \(h256 A 192\.0\.2\.256\): /],
    ['$GENERATE 1-2 h$', /:6: \$GENERATE takes a range, an owner/],
  ]
  it.each(BAD)('%s: refused with the file and line, as BIND refuses it', async (line, problem) => {
    const file = join(expanded, 'bad.zone')
    writeFileSync(file, `$ORIGIN bad.example.\n$TTL 60\n@ SOA ns1 hostmaster 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n${line}\n`)
    expect(() => parseZoneFile(file, readFileSync(file, 'utf8'), 'bad.example')).toThrow(problem)
    expect(await bindCheck('bad.example', file)).toMatch(/bad\.zone:6: /) // BIND names the same line
  })

  it('where we are stricter than BIND, and why: out-of-zone owners and huge ranges stop start-up', async () => {
    const file = join(expanded, 'strict.zone')
    // BIND warns "ignoring out-of-zone data" and loads the rest; every other record outside the zone stops us.
    writeFileSync(file, '$ORIGIN strict.example.\n$TTL 60\n@ SOA ns1 hostmaster 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n$GENERATE 1-2 h$.other.example. A 192.0.2.$\n')
    expect(await bindCheck('strict.example', file)).toBe('ok')
    expect(() => parseZoneFile(file, readFileSync(file, 'utf8'), 'strict.example')).toThrow(/strict\.zone:6: h1\.other\.example is outside the zone strict\.example/)
    // A typo in a range must not take the memory: at most 65,536 records per line.
    writeFileSync(file, '$ORIGIN strict.example.\n$TTL 60\n@ SOA ns1 hostmaster 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n$GENERATE 0-70000 h$ A 192.0.2.1\n')
    expect(() => parseZoneFile(file, readFileSync(file, 'utf8'), 'strict.example')).toThrow(/strict\.zone:6: \$GENERATE: the range 0-70000 makes 70001 records; at most 65536 per line/)
  })
})
