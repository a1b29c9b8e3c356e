/**
 * The RDATA codecs of zone/file/rdata.ts: golden bytes taken from knotd's answers for the same presentation
 * text (test/fixtures/zones/conformance/example.org.zone), length checks, the generic form, and errors that
 * name the problem. The knotd differential (test/conformance) checks the same records end to end through dig.
 */
import { describe, expect, it } from 'vitest'
import { parseZoneFile } from '../../../src/zone/file/parse.ts'
import type { Rec } from '../../../src/zone/types.ts'

const HEAD = '$ORIGIN example.org.\n$TTL 3600\n@ IN SOA ns1 hostmaster 1 7200 900 1209600 300\n'
const one = (line: string): Rec => parseZoneFile('t.zone', HEAD + line + '\n', 'example.org').records[1] as Rec
const hex = (line: string): string => (one(line).data as { hex: string }).hex
const error = (line: string): string => {
  try { parseZoneFile('t.zone', HEAD + line + '\n', 'example.org'); return 'no error' } catch (err) { return (err as Error).message }
}

// From knotd 3.x (Debian 12), `dig` of the same records; RDATA bytes as it sent them.
const GOLDEN: [string, string][] = [
  ['sshfp IN SSHFP 4 2 123456789abcdef67890123456789abcdef67890123456789abcdef123456789', '0402123456789abcdef67890123456789abcdef67890123456789abcdef123456789'],
  ['_443._tcp.web IN TLSA 3 1 1 0123456789ABCDEF0123456789abcdef0123456789abcdef 0123456789abcdef', '0301010123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'],
  ['svc IN SVCB 1 web alpn=h2,h3 port=8443 ipv4hint=192.0.2.80 ipv6hint=2001:db8::80', '000103776562076578616d706c65036f726700000100060268320268330003000220fb00040004c00002500006001020010db8000000000000000000000080'],
  ['svc IN HTTPS 1 . mandatory=alpn alpn="h2" no-default-alpn key65000=hello ech=AEj+DQBEAQAgACBSUe1J', '00010000000002000100010003026832000200000005000f0048fe0d004401002000205251ed49fde8000568656c6c6f'],
  ['svcalias IN HTTPS 0 web.example.org.', '000003776562076578616d706c65036f726700'],
  ['naptr IN NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp', '0064000a0153075349502b44325500045f736970045f756470076578616d706c65036f726700'],
  ['hinfo IN HINFO "x86_64" "Linux"', '067838365f3634054c696e7578'],
  ['uri IN URI 10 1 "https://example.org/path"', '000a000168747470733a2f2f6578616d706c652e6f72672f70617468'],
  ['loc IN LOC 52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m', '000016138b3cf018810cbce0009895b8'],
  ['rp IN RP hostmaster txt.example.org.', '0a686f73746d6173746572076578616d706c65036f72670003747874076578616d706c65036f726700'],
  ['ds IN DS 12345 13 2 ( 0123456789abcdef0123456789abcdef\n 0123456789abcdef0123456789abcdef )', '30390d020123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'],
  ['dnamed IN DNAME example.net.', '076578616d706c65036e657400'],
  ['generic IN TYPE65280 \\# 4 0a000001', '0a000001'],
]

describe('RDATA codecs', () => {
  it.each(GOLDEN)('%s → the bytes knotd serves', (line, bytes) => {
    expect(hex(line)).toBe(bytes)
  })

  it('CAA: flags, tag length, tag, value (RFC 8659 4.1)', () => {
    expect(hex('caa IN CAA 0 issue "letsencrypt.org"')).toBe(`0005${Buffer.from('issue').toString('hex')}${Buffer.from('letsencrypt.org').toString('hex')}`)
  })

  it('lengths: SVCB parameters framed exactly, sorted by key whatever the written order', () => {
    const b = Buffer.from(hex('s IN SVCB 2 . port=53 alpn=dot'), 'hex')
    expect(b.readUInt16BE(0)).toBe(2)
    expect(b[2]).toBe(0) // the root target
    // key 1 (alpn) before key 3 (port), each with its length
    expect(b.subarray(3).toString('hex')).toBe('0001000403646f74' + '000300020035')
  })

  it('the generic form for any type, TYPEnnn for a known type, and an empty RDATA', () => {
    expect(one('g IN TYPE65281 \\# 0').data).toEqual({ type: 'TYPE65281', hex: '' })
    expect(one('g IN CAA \\# 3 00 0161').data).toEqual({ type: 'CAA', hex: '000161' })
    expect(one('g IN TYPE257 \\# 3 000161').data.type).toBe('CAA') // RFC 3597 5: TYPE257 is CAA
    expect(one('g IN TYPE1 192.0.2.7').data).toEqual({ type: 'A', address: '192.0.2.7' })
  })

  it('errors name the field and the fix', () => {
    expect(error('g IN TYPE65280 \\# 3 0a0000')).toBe('no error')
    expect(error('g IN TYPE65280 \\# 4 0a0000')).toMatch(/t\.zone:4: TYPE65280 \\# says 4 bytes but the data has 3/)
    expect(error('g IN TYPE65280 0a000001')).toMatch(/t\.zone:4: TYPE65280 takes the generic form: \\# <length> <hex> \(RFC 3597\)/)
    expect(error('g IN SSHFP 4 2 xyz')).toMatch(/SSHFP fingerprint 'xyz' is not hexadecimal digits in pairs/)
    expect(error('g IN CAA 256 issue "x"')).toMatch(/CAA flags '256' is not a number from 0 to 255/)
    expect(error('g IN HTTPS 1 . colour=blue')).toMatch(/SVCB parameter 'colour' is not one of mandatory, alpn/)
    expect(error('g IN HTTPS 1 . port=1 port=2')).toMatch(/HTTPS parameter port appears twice/)
    expect(error('g IN SVCB 1 . ipv4hint=2001:db8::1')).toMatch(/SVCB ipv4hint '2001:db8::1' is not an IPv4 address/)
    expect(error('g IN LOC 91 N 0 E 0m')).toMatch(/LOC angle 91 N is out of range/)
    expect(error('g IN A \\# 4 c0000201')).toMatch(/A in the generic form \(\\#\) is not supported; write it in A's own syntax/)
    expect(error('g IN NOSUCHTYPE x')).toMatch(/unsupported record type NOSUCHTYPE .*any type as TYPEnnn/)
  })
})
