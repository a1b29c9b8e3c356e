/**
 * DNS cookies: RFC 9018 Appendix A's vectors byte for byte, the cookies clients hand back (reserved octets
 * included, the previous secret, another address), the lengths RFC 7873 5.2.2 allows, the lifetime of RFC 9018
 * 4.3 across the 2^32 wrap, and what comes back: the same cookie while fresh, a new one once worn.
 */
import { describe, expect, it } from 'vitest'
import { Cookies, OPTION_COOKIE, serverCookie } from '../../../src/dns/cookies.ts'
import { addressBytes } from '../../../src/dns/peer.ts'

const hex = (s: string): Buffer => Buffer.from(s, 'hex')
const A_SECRET = 'e5e973e5a6b2a43f48e7dc849e37bfcf'

/** A query's COOKIE option as answer.ts finds it: the option at offset 0 of a buffer. */
function option(cookie: Buffer): Buffer {
  const b = Buffer.alloc(4 + cookie.length)
  b.writeUInt16BE(OPTION_COOKIE, 0)
  b.writeUInt16BE(cookie.length, 2)
  cookie.copy(b, 4)
  return b
}
const reply = (v: { option: Buffer } | null): string => (v === null ? 'FORMERR' : v.option.subarray(4).toString('hex'))

describe('RFC 9018 server cookies', () => {
  it.each([
    ['A.1, learning a new server cookie', A_SECRET, '2464c4abcf10c957', '198.51.100.100', 1559731985, '010000005cf79f111f8130c3eee29480'],
    ['A.2, the same client, renewed', A_SECRET, '2464c4abcf10c957', '198.51.100.100', 1559734385, '010000005cf7a871d4a564a1442aca77'],
    ['A.3, another client, renewed', A_SECRET, 'fc93fc62807ddb86', '203.0.113.203', 1559734700, '010000005cf7a9acf73a7810aca2381e'],
    ['A.4, an IPv6 client after the secret rolled over', '445536bcd2513298075a5d379663c962', '22681ab97d52c298', '2001:db8:220:1:59de:d0f4:8769:82b8', 1559741961, '010000005cf7c609a6bb79d16625507a'],
  ] as const)('%s', (_, secret, client, ip, at, want) => {
    expect(serverCookie(hex(secret), hex(client), addressBytes(ip) as Uint8Array, at).toString('hex')).toBe(want)
  })

  it('an IPv4-mapped IPv6 peer (a dual-stack socket) is hashed as its IPv4 address', () => {
    expect(addressBytes('::ffff:198.51.100.100')).toEqual(addressBytes('198.51.100.100'))
    expect(addressBytes('not an address')).toBeNull()
  })
})

describe('Cookies.answer', () => {
  const at = (t: number) => () => t
  it('a client cookie alone gets A.1 back, and is not proven', () => {
    const c = new Cookies('on', hex(A_SECRET), null, at(1559731985))
    const v = c.answer(option(hex('2464c4abcf10c957')), 0, '198.51.100.100')
    expect(reply(v)).toBe('2464c4abcf10c957010000005cf79f111f8130c3eee29480')
    expect(v?.valid).toBe(false)
  })

  it('A.2: a valid cookie 40 minutes old is proven and renewed', () => {
    const c = new Cookies('on', hex(A_SECRET), null, at(1559734385))
    const v = c.answer(option(hex('2464c4abcf10c957010000005cf79f111f8130c3eee29480')), 0, '198.51.100.100')
    expect(v?.valid).toBe(true)
    expect(reply(v)).toBe('2464c4abcf10c957010000005cf7a871d4a564a1442aca77')
  })

  it('a valid cookie under half an hour old comes back as it came', () => {
    const c = new Cookies('on', hex(A_SECRET), null, at(1559731985 + 600))
    const held = '2464c4abcf10c957010000005cf79f111f8130c3eee29480'
    const v = c.answer(option(hex(held)), 0, '198.51.100.100')
    expect(v?.valid).toBe(true)
    expect(reply(v)).toBe(held)
  })

  it('A.3: reserved octets the client sets are part of the hash; the same cookie from another address is not ours', () => {
    const c = new Cookies('on', hex(A_SECRET), null, at(0x5cf78f71 + 60))
    const cookie = option(hex('fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5'))
    expect(c.answer(cookie, 0, '203.0.113.203')?.valid).toBe(true)
    expect(c.answer(cookie, 0, '203.0.113.204')?.valid).toBe(false)
  })

  it('A.4: a cookie of the old secret is taken after a rotation, not after two', () => {
    const cookie = option(hex('22681ab97d52c298010000005cf7c57926556bd0934c72f8'))
    const ip = '2001:db8:220:1:59de:d0f4:8769:82b8'
    expect(new Cookies('on', hex('445536bcd2513298075a5d379663c962'), null, at(0x5cf7c579 + 60)).answer(cookie, 0, ip)?.valid).toBe(false)
    const c = new Cookies('on', hex('445536bcd2513298075a5d379663c962'), hex('dd3bdf9344b678b185a6f5cb60fca715'), at(0x5cf7c579 + 60))
    const v = c.answer(cookie, 0, ip)
    expect(v?.valid).toBe(true)
    c.rotate()
    expect(c.answer(cookie, 0, ip)?.valid).toBe(false)
  })

  it('lengths: 8, and 16 to 40, are taken; others are FORMERR (RFC 7873 5.2.2)', () => {
    const c = new Cookies('on', hex(A_SECRET))
    for (const n of [0, 7, 9, 15, 41]) expect(c.answer(option(Buffer.alloc(n, 1)), 0, '192.0.2.1'), `${n} octets`).toBeNull()
    for (const n of [8, 16, 24, 40]) expect(c.answer(option(Buffer.alloc(n, 1)), 0, '192.0.2.1'), `${n} octets`).not.toBeNull()
  })

  it("another server's cookie (not 16 octets of version 1) is replaced, not taken", () => {
    const c = new Cookies('on', hex(A_SECRET), null, at(1559731985))
    const v = c.answer(option(hex('2464c4abcf10c957' + 'aa'.repeat(32))), 0, '198.51.100.100')
    expect(v?.valid).toBe(false)
    expect(reply(v)).toBe('2464c4abcf10c957010000005cf79f111f8130c3eee29480')
  })

  it('the lifetime: an hour back and five minutes ahead, across the wrap of the 32-bit timestamp', () => {
    const ip = '192.0.2.7'
    const client = hex('0102030405060708')
    const held = (stamp: number): Buffer => option(Buffer.concat([client, serverCookie(hex(A_SECRET), client, addressBytes(ip) as Uint8Array, stamp)]))
    const valid = (stamp: number, now: number): boolean | undefined => new Cookies('on', hex(A_SECRET), null, at(now)).answer(held(stamp), 0, ip)?.valid
    const now = 1559731985
    expect(valid(now - 3600, now)).toBe(true)
    expect(valid(now - 3601, now)).toBe(false)
    expect(valid(now + 300, now)).toBe(true)
    expect(valid(now + 301, now)).toBe(false)
    expect(valid(4294964696, 1000)).toBe(true) // stamped before the wrap, read an hour later after it
  })
})
