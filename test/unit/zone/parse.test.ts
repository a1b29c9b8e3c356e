/**
 * The master-file parser: accepted syntax (RFC 1035 5, RFC 2308 $TTL) as inline golden pairs, and every
 * file in fixtures/zones/bad/ must fail with the error its first line announces, at the right line.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ZoneFileError } from '../../../src/errors.ts'
import { parseTtl, parseZoneFile } from '../../../src/zone/file/parse.ts'
import { readZoneDir } from '../../../src/zone/file/source.ts'

/** Records in a compact presentation form for golden comparisons. */
function show(text: string, origin = 'example.org'): string[] {
  return parseZoneFile('t.zone', text, origin).records.map((r) => {
    const { type, ...rest } = r.data
    return `${r.name} ${r.ttl} ${type} ${Object.values(rest).map((v) => (Array.isArray(v) ? v.map((s) => JSON.stringify(s)).join(' ') : String(v))).join(' ')}`
  })
}

const SOA = '@ 3600 IN SOA ns1 hostmaster 1 2 3 4 5\n'

describe('parseZoneFile accepts', () => {
  it('$ORIGIN, @, relative and absolute names', () => {
    expect(show(`$ORIGIN example.org.\n${SOA}www 60 IN A 192.0.2.1\nabs.example.org. 60 IN A 192.0.2.2\n`, 'ignored.test')).toEqual([
      'example.org 3600 SOA ns1.example.org hostmaster.example.org 1 2 3 4 5',
      'www.example.org 60 A 192.0.2.1',
      'abs.example.org 60 A 192.0.2.2',
    ])
  })

  it('the origin from the file name until a $ORIGIN line', () => {
    expect(show(`${SOA}www 60 A 192.0.2.1\n`)).toContain('www.example.org 60 A 192.0.2.1')
  })

  it('$TTL with units, TTL and class in either order, the previous owner on indented lines', () => {
    expect(show(`$TTL 1h30m\n${SOA}web IN 300 A 192.0.2.1\n    AAAA 2001:db8::1\n  60 IN TXT "x"\n`)).toEqual([
      'example.org 3600 SOA ns1.example.org hostmaster.example.org 1 2 3 4 5',
      'web.example.org 300 A 192.0.2.1',
      'web.example.org 5400 AAAA 2001:db8::1',
      'web.example.org 60 TXT "x"',
    ])
  })

  it('a parenthesised multi-line SOA with comments, and type names in any case', () => {
    const text = '$TTL 300\n@ in soa ns1.example.org. host\\.master.example.org. ( ; comment\n  2026112301 ; serial\n  2h 15m\n  2w\n  5m )\n'
    expect(() => show(text)).toThrow(/escapes and quotes in names are not supported/)
    expect(show(text.replace('host\\.master', 'hostmaster'))).toEqual([
      'example.org 300 SOA ns1.example.org hostmaster.example.org 2026112301 7200 900 1209600 300',
    ])
  })

  it('quoted TXT strings with spaces, semicolons, \\" and \\DDD escapes, several per record', () => {
    expect(show(`${SOA}t 60 TXT "a; b" "say \\"hi\\"" "\\065\\066" plain\n`)).toContain('t.example.org 60 TXT "a; b" "say \\"hi\\"" "AB" "plain"')
  })

  it('MX, SRV, NS, PTR and CNAME with relative targets', () => {
    expect(show(`${SOA}@ 60 NS ns1\n@ 60 MX 10 mail\n_sip._tcp 60 SRV 10 60 5060 sip\nw 60 CNAME web\n1 60 PTR host.example.net.\n`).slice(1)).toEqual([
      'example.org 60 NS ns1.example.org',
      'example.org 60 MX 10 mail.example.org',
      '_sip._tcp.example.org 60 SRV 10 60 5060 sip.example.org',
      'w.example.org 60 CNAME web.example.org',
      '1.example.org 60 PTR host.example.net',
    ])
  })

  it('CRLF line ends and a last line without a newline', () => {
    expect(show(`${SOA.trim()}\r\nwww 60 A 192.0.2.1`)).toHaveLength(2)
  })
})

describe('parseZoneFile rejects, naming file and line', () => {
  const dir = new URL('../../fixtures/zones/bad/', import.meta.url).pathname
  const files = readdirSync(dir).filter((f) => f.endsWith('.zone')).sort()

  it('has bad fixtures to run', () => expect(files.length).toBeGreaterThanOrEqual(12))

  it.each(files)('%s', (file) => {
    const text = readFileSync(join(dir, file), 'utf8')
    const m = /^; ERROR line (\d+): (.*)$/m.exec(text)
    if (m === null) throw new Error(`${file} lacks its '; ERROR line N: message' header`)
    let err: unknown
    try { parseZoneFile(join(dir, file), text, 'example.org') } catch (e) { err = e }
    expect(err).toBeInstanceOf(ZoneFileError)
    expect((err as ZoneFileError).message).toBe(`${join(dir, file)}:${m[1]}: ${m[2]}`)
  })
})

describe('parseTtl', () => {
  it.each([['0', 0], ['3600', 3600], ['1h', 3600], ['1w2d3h4m5s', 788645], ['2H', 7200]])('%s → %d', (t, v) => expect(parseTtl(t)).toBe(v))
  it.each(['', 'h', '1x', '1h-', '99999999999', '-1'])('rejects %j', (t) => expect(parseTtl(t)).toBeNull())
})

describe('readZoneDir', () => {
  it('loads the shipped zones/ folder', async () => {
    const zones = await readZoneDir(new URL('../../../zones/', import.meta.url).pathname)
    expect(zones.map((z) => z.apex).sort()).toEqual(['2.0.192.in-addr.arpa', 'example.org'])
  })
})

describe('$INCLUDE (RFC 1035 5.1)', () => {
  const files: Record<string, string> = {
    '/z/example.org.zone': '$TTL 60\n@ IN SOA ns1 hostmaster 1 2 3 4 5\n$INCLUDE hosts.inc\n$INCLUDE sub/lab.inc lab.example.org.\nafter IN A 192.0.2.99\n',
    '/z/hosts.inc': 'web IN A 192.0.2.80\n$ORIGIN other.example.org.\nmoved IN A 192.0.2.81\n',
    '/z/sub/lab.inc': 'box IN A 192.0.2.82\n$INCLUDE deeper.inc\n',
    '/z/sub/deeper.inc': 'deep 300 IN TXT "two levels down"\n',
  }
  const read = (over: Record<string, string>) => (path: string): string => {
    const text = over[path] ?? files[path]
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' })
    return text
  }
  const parse = (over: Record<string, string> = {}) => parseZoneFile('/z/example.org.zone', (over['/z/example.org.zone'] ?? files['/z/example.org.zone']) as string, 'example.org', { readFile: read(over) })
  const fails = (over: Record<string, string>): string => { try { parse(over); return 'no error' } catch (err) { return (err as Error).message } }

  it('reads paths relative to the including file, with the given origin or the current one; the origin comes back after', () => {
    const names = parse().records.map((r) => `${r.name} ${r.ttl} ${r.data.type}`)
    expect(names).toEqual(['example.org 60 SOA', 'web.example.org 60 A', 'moved.other.example.org 60 A', 'box.lab.example.org 60 A',
      'deep.lab.example.org 300 TXT', 'after.example.org 60 A'])
  })

  it('an error names the file and line, and each $INCLUDE line that led there', () => {
    expect(fails({ '/z/sub/deeper.inc': 'deep IN A 192.0.2.300\n' }))
      .toBe("/z/sub/deeper.inc:1: '192.0.2.300' is not an IPv4 address (included from /z/sub/lab.inc:2, from /z/example.org.zone:4)")
    expect(fails({ '/z/sub/lab.inc': 'box IN TXT "open\n' })).toBe('/z/sub/lab.inc:1: a quoted string is never closed (included from /z/example.org.zone:4)')
  })

  it('a file that includes itself, directly or not, is an error', () => {
    expect(fails({ '/z/hosts.inc': '$INCLUDE hosts.inc\n' })).toBe('/z/hosts.inc:1: $INCLUDE hosts.inc includes a file that is already being read: /z/example.org.zone → /z/hosts.inc → /z/hosts.inc (included from /z/example.org.zone:3)')
    expect(fails({ '/z/sub/deeper.inc': '$INCLUDE ../example.org.zone\n' })).toMatch(/^\/z\/sub\/deeper\.inc:1: \$INCLUDE \.\.\/example\.org\.zone includes a file that is already being read: .* \(included from \/z\/sub\/lab\.inc:2, from \/z\/example\.org\.zone:4\)$/)
  })

  it('a file that cannot be read says so', () => {
    expect(fails({ '/z/example.org.zone': '$TTL 60\n@ IN SOA ns1 hostmaster 1 2 3 4 5\n$INCLUDE nothere.inc\n' })).toBe('/z/example.org.zone:3: $INCLUDE cannot read /z/nothere.inc: ENOENT')
  })
})
