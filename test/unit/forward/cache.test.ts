/**
 * ForwardCache and Acl: TTL rules (RFC 2308), countdown on a fake clock, what is never cached, and the ACL.
 */
import { describe, expect, it } from 'vitest'
import { readMessage } from '../../../src/dns/wire.ts'
import { Acl, DEFAULT_FORWARD_ALLOW } from '../../../src/address.ts'
import { cacheTtl, ForwardCache } from '../../../src/forward/cache.ts'
import { decode, query } from '../../helpers/packets.ts'
import { respond } from '../../helpers/upstreams.ts'

/** An NXDOMAIN answer with a SOA (TTL soaTtl, MINIMUM minimum) in authority. */
function nxdomain(soaTtl: number, minimum: number): Buffer {
  const q = query('nope.example.net', 'A')
  const base = respond(q, { rcode: 3 })
  const soa = Buffer.concat([
    Buffer.from('076578616d706c65036e657400', 'hex'), Buffer.from([0, 6, 0, 1]), Buffer.alloc(4), Buffer.from([0, 22]),
    Buffer.from([0]), Buffer.from([0]), Buffer.alloc(20),
  ])
  soa.writeUInt32BE(soaTtl, 17)
  soa.writeUInt32BE(minimum, soa.length - 4)
  const msg = Buffer.concat([base, soa])
  msg.writeUInt16BE(1, 8)
  return msg
}

describe('cacheTtl', () => {
  it('positive: the smallest TTL in the answer section', () => {
    const msg = respond(query('a.example.net', 'A'), { address: '192.0.2.1', ttl: 120 })
    expect(cacheTtl(msg, readMessage(msg)!)).toBe(120)
  })
  it('negative: min(SOA TTL, SOA MINIMUM) (RFC 2308 5)', () => {
    expect(cacheTtl(nxdomain(3600, 60), readMessage(nxdomain(3600, 60))!)).toBe(60)
    expect(cacheTtl(nxdomain(30, 600), readMessage(nxdomain(30, 600))!)).toBe(30)
  })
  it('never: SERVFAIL, REFUSED, or a negative answer without a SOA', () => {
    for (const rcode of [2, 5, 3]) {
      const msg = respond(query('a.example.net', 'A'), { rcode })
      expect(cacheTtl(msg, readMessage(msg)!)).toBeNull()
    }
  })
})

describe('ForwardCache', () => {
  it('counts TTLs down from a monotonic clock and expires entries', () => {
    let now = 1000
    const cache = new ForwardCache(10, 3600, () => now)
    const msg = respond(query('a.example.net', 'A'), { address: '192.0.2.1', ttl: 100 })
    expect(cache.put('k', msg, readMessage(msg)!)).toBe(100)
    now += 40.7
    expect(decode(cache.get('k')!).answer).toEqual(['a.example.net. 60 IN A 192.0.2.1'])
    now += 60
    expect(cache.get('k')).toBeUndefined()
  })
  it('caps TTLs at the maximum', () => {
    const cache = new ForwardCache(10, 50, () => 0)
    const msg = respond(query('a.example.net', 'A'), { address: '192.0.2.1', ttl: 86400 })
    expect(cache.put('k', msg, readMessage(msg)!)).toBe(50)
  })
  it('holds at most its number of entries, dropping the least recently used', () => {
    const cache = new ForwardCache(2, 3600, () => 0)
    for (const k of ['a', 'b', 'c']) {
      const msg = respond(query(`${k}.example.net`, 'A'), { address: '192.0.2.1' })
      cache.put(k, msg, readMessage(msg)!)
    }
    expect([cache.get('a'), cache.get('b') !== undefined, cache.get('c') !== undefined]).toEqual([undefined, true, true])
  })
  it('with size 0 caches nothing', () => {
    const cache = new ForwardCache(0, 3600)
    const msg = respond(query('a.example.net', 'A'), { address: '192.0.2.1' })
    expect(cache.put('k', msg, readMessage(msg)!)).toBe(0)
    expect(cache.get('k')).toBeUndefined()
  })
})

describe('Acl', () => {
  const acl = new Acl(DEFAULT_FORWARD_ALLOW)
  it.each(['127.0.0.1', '10.1.2.3', '172.31.0.1', '192.168.1.1', '100.64.0.1', '::1', 'fd00::1', 'fe80::1%eth0', '::ffff:192.168.1.1'])('allows %s by default', (a) => {
    expect(acl.allows(a)).toBe(true)
  })
  it.each(['8.8.8.8', '172.32.0.1', '2001:db8::1', '::ffff:8.8.8.8', 'garbage'])('refuses %s by default', (a) => {
    expect(acl.allows(a)).toBe(false)
  })
})
