/**
 * TXT character-strings are octets end to end (issue 26, 4): `\DDD` is one octet, a character beyond ASCII
 * written in a zone file its UTF-8 octets, and one length rule (255 octets) holds in the parser, the store's
 * check and the writer alike. Served as written: "a\200b" is 3 octets, never 4.
 */
import { describe, expect, it } from 'vitest'
import { parseZoneFile } from '../../../src/zone/file/parse.ts'
import { ZoneFileSource } from '../../../src/zone/file/source.ts'
import { ZoneStore } from '../../../src/zone/store.ts'
import { answer, Reply } from '../../../src/dns/answer.ts'
import { query } from '../../helpers/packets.ts'

const HEAD = '$TTL 300\n@ SOA ns hostmaster 1 7200 900 1209600 300\n'

/** The TXT RDATA of `name` as served, in octets. */
function served(zone: string, name: string): Buffer {
  const store = new ZoneStore()
  new ZoneFileSource().apply(store, [parseZoneFile('example.org.zone', HEAD + zone, 'example.org')])
  const reply = new Reply()
  answer(query(`${name}.example.org`, 'TXT'), false, store.table, reply)
  // The one answer: owner (a 2-octet pointer), type, class, TTL, then RDLENGTH and the RDATA.
  const rdlength = reply.body.readUInt16BE(2 + 2 + 2 + 4)
  return reply.body.subarray(12, 12 + rdlength)
}

describe('TXT strings are octets', () => {
  it('\\DDD is one octet: "a\\200b" is 3 octets; "\\195\\169" is 2', () => {
    expect(served('t TXT "a\\200b"', 't')).toEqual(Buffer.from([3, 0x61, 0xc8, 0x62]))
    expect(served('t TXT "\\195\\169"', 't')).toEqual(Buffer.from([2, 0xc3, 0xa9]))
  })

  it('a character beyond ASCII stands for its UTF-8 octets, an astral one too', () => {
    expect(served('t TXT "é"', 't')).toEqual(Buffer.from([2, 0xc3, 0xa9]))
    expect(served('t TXT "日😀"', 't')).toEqual(Buffer.concat([Buffer.from([7]), Buffer.from('日😀', 'utf8')]))
  })

  it('one length rule, in octets: 127 é (254 octets) are taken, 128 (256 octets) refused where written', () => {
    expect(served(`t TXT "${'é'.repeat(127)}"`, 't')[0]).toBe(254)
    expect(() => parseZoneFile('example.org.zone', `${HEAD}t TXT "${'é'.repeat(128)}"`, 'example.org')).toThrow(/example\.org\.zone:3: a TXT string is longer than 255 bytes/)
    const store = new ZoneStore()
    store.setOwner('file', 'example.org', [{ name: 'example.org', ttl: 1, data: { type: 'SOA', mname: 'ns', rname: 'h', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 1 } }])
    expect(() => store.setOwner('file', 't.example.org', [{ name: 't.example.org', ttl: 1, data: { type: 'TXT', strings: ['\xff'.repeat(256)] } }])).toThrow(/TXT string longer than 255 octets/)
    expect(() => store.setOwner('file', 't.example.org', [{ name: 't.example.org', ttl: 1, data: { type: 'TXT', strings: ['\xff'.repeat(255)] } }])).not.toThrow()
  })
})
