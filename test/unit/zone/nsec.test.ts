/**
 * Compact denial's NSEC (zone/nsec.ts): the type bitmap as RFC 4034 4.3's own example encodes it, and the
 * NSEC at a name: next name `\000.<name>`, its types with RRSIG and NSEC, or RRSIG, NSEC and NXNAME (RFC 9824)
 * for a name that does not exist.
 */
import { describe, expect, it } from 'vitest'
import { compactNsec, typeBitmap, TYPE_NXNAME } from '../../../src/zone/nsec.ts'

describe('NSEC for compact denial', () => {
  it("encodes the type bitmap of RFC 4034 4.3's example (A MX RRSIG NSEC TYPE1234)", () => {
    expect(typeBitmap([1, 15, 46, 47, 1234]).toString('hex')).toBe(
      '0006' + '400100000003' + '041b' + '00'.repeat(26) + '20')
  })

  it('an existing name: next name \\000.<name>, its types with RRSIG and NSEC', () => {
    const nsec = compactNsec('www.example.org', [1, 28], 60)
    expect(nsec).toMatchObject({ name: 'www.example.org', ttl: 60, data: { type: 'NSEC' } })
    const hex = (nsec.data as { hex: string }).hex
    const next = '0100' + '03777777' + '076578616d706c65' + '036f7267' + '00'
    expect(hex.startsWith(next)).toBe(true)
    expect(hex.slice(next.length)).toBe(typeBitmap([1, 28, 46, 47]).toString('hex'))
  })

  it('a name that does not exist: RRSIG, NSEC and NXNAME only', () => {
    const hex = (compactNsec('nope.example.org', null, 60).data as { hex: string }).hex
    expect(hex.endsWith(typeBitmap([46, 47, TYPE_NXNAME]).toString('hex'))).toBe(true)
    expect(typeBitmap([46, 47, 128]).toString('hex')).toBe('0011' + '00'.repeat(5) + '03' + '00'.repeat(10) + '80') // RRSIG, NSEC in byte 5; NXNAME (128) the first bit of byte 16
  })
})
