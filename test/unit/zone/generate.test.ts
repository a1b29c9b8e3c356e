/**
 * $GENERATE's pieces (src/zone/file/generate.ts): the range and BIND's substitution. The conformance test
 * (test/conformance/generate.test.ts) checks whole files against named-compilezone; these pin the edges.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_GENERATED, parseRange, rangeValues, substitute } from '../../../src/zone/file/generate.ts'
import { parseZoneFile } from '../../../src/zone/file/parse.ts'

describe('parseRange', () => {
  it('start-stop and start-stop/step', () => {
    expect([...rangeValues(parseRange('1-4') as never)]).toEqual([1, 2, 3, 4])
    expect([...rangeValues(parseRange('0-10/5') as never)]).toEqual([0, 5, 10])
    expect([...rangeValues(parseRange('3-3') as never)]).toEqual([3])
    expect([...rangeValues(parseRange('1-12/4') as never)]).toEqual([1, 5, 9])
  })
  it.each([
    ['1', "'1' is not a range"], ['a-b', "'a-b' is not a range"], ['-1-3', "'-1-3' is not a range"],
    ['5-1', 'starts after it ends'], ['1-5/0', 'the step of 1-5/0 must be at least 1'],
    ['0-2147483648', 'ends past 2147483647'], [`0-${MAX_GENERATED}`, `makes ${MAX_GENERATED + 1} records`],
  ])('refuses %s', (text, why) => expect(parseRange(text)).toContain(why))
  it(`allows exactly ${MAX_GENERATED} records`, () => expect(typeof parseRange(`1-${MAX_GENERATED}`)).toBe('object'))
})

describe('substitute', () => {
  it.each([
    ['host-$', 7, 'host-7'], ['$.$', 12, '12.12'], ['cost$$', 3, 'cost$'], ['a\\$b', 3, 'a\\$b'], ['a\\\\$', 3, 'a\\\\3'],
    ['${0}', 5, '5'], ['${10}', 5, '15'], ['${-10}', 5, '-5'], ['${0,3}', 5, '005'], ['${-10,4}', 5, '-005'],
    ['${0,3,o}', 8, '010'], ['${0,2,x}', 255, 'ff'], ['${0,4,X}', 255, '00FF'], ['${0,0,d}', 42, '42'],
    ['${0,1,n}', 0x1a, 'a.1'], ['${0,7,n}', 1, '1.0.0.0'], ['${0,8,n}', 1, '1.0.0.0.'], ['${0,3,N}', 0xab, 'B.A'],
    ['${0,0,n}', 0, '0'], ['${-1,2,x}', 0, 'ffffffff'],
  ])('%s for %d → %s', (template, value, out) => expect(substitute(template, value)).toBe(out))

  it.each(['${}', '${1', '${1,2,q}', '${x}', '${1,}'])('refuses %s, naming it', (template) => {
    expect(() => substitute(`h${template}`, 1)).toThrow(/is not \$\{offset\}, \$\{offset,width\} or \$\{offset,width,base\}/)
  })

  it('a template without $ is itself, and $ alone is the number in decimal, for any number', () => {
    fc.assert(fc.property(fc.stringMatching(/^[a-z0-9.-]{0,20}$/), fc.nat({ max: 0x7fffffff }), (text, value) => {
      expect(substitute(text, value)).toBe(text)
      expect(substitute(`${text}$`, value)).toBe(`${text}${value}`)
    }))
  })
})

describe('$GENERATE in a zone file', () => {
  const SOA = '$TTL 60\n@ SOA ns1 hostmaster 1 2 3 4 5\n'
  const show = (text: string, opts = {}): string[] => parseZoneFile('/z/example.org.zone', text, 'example.org', opts).records
    .filter((r) => r.data.type !== 'SOA').map((r) => `${r.name} ${r.ttl} ${JSON.stringify(r.data)}`)
  const fails = (text: string, opts = {}): string => { try { show(text, opts); return 'no error' } catch (err) { return (err as Error).message } }

  it('uses $TTL, or its own TTL, which later records without one then take (as BIND does)', () => {
    expect(show(`${SOA}$GENERATE 1-2 a$ A 192.0.2.$\n$GENERATE 1-1 b$ 300 A 192.0.2.9\n`)).toEqual([
      'a1.example.org 60 {"type":"A","address":"192.0.2.1"}', 'a2.example.org 60 {"type":"A","address":"192.0.2.2"}',
      'b1.example.org 300 {"type":"A","address":"192.0.2.9"}',
    ])
    expect(show('@ 90 SOA ns1 hostmaster 1 2 3 4 5\n$GENERATE 1-1 b$ 300 A 192.0.2.9\nc A 192.0.2.10\n')).toContain('c.example.org 300 {"type":"A","address":"192.0.2.10"}')
  })

  it('works in an $INCLUDEd file, with its origin, and its errors name the chain', () => {
    const files: Record<string, string> = { '/z/pool.inc': '$GENERATE 1-2 h$ A 192.0.2.$\n$GENERATE 1-2 x${1,2,q} A 192.0.2.$\n' }
    const readFile = (p: string): string => files[p] ?? ''
    expect(fails(`${SOA}$INCLUDE pool.inc pool.example.org.\n`, { readFile })).toBe(
      "/z/pool.inc:2: $GENERATE: '${1,2,q}' is not ${offset}, ${offset,width} or ${offset,width,base} (base d, o, x, X, n or N) (included from /z/example.org.zone:3)")
    files['/z/pool.inc'] = '$GENERATE 1-2 h$ A 192.0.2.$\n'
    expect(show(`${SOA}$INCLUDE pool.inc pool.example.org.\n`, { readFile })).toEqual([
      'h1.pool.example.org 60 {"type":"A","address":"192.0.2.1"}', 'h2.pool.example.org 60 {"type":"A","address":"192.0.2.2"}',
    ])
  })

  it('an error in a generated record names the number and the record it made', () => {
    expect(fails(`${SOA}$GENERATE 254-256 h$ A 192.0.2.$\n`)).toBe("/z/example.org.zone:3: $GENERATE, for 256 (h256 A 192.0.2.256): '192.0.2.256' is not an IPv4 address")
    expect(fails(`${SOA}$GENERATE 1-2 h$ CH A 192.0.2.$\n`)).toBe('/z/example.org.zone:3: $GENERATE, for 1 (h1 CH A 192.0.2.1): class CH is not supported (only IN)')
    expect(fails(`${SOA}$GENERATE 1-2 h$ A "192.0.2.$ ; x\n`)).toBe('/z/example.org.zone:3: a quoted string is never closed')
  })
})
