/**
 * answer(): the protocol rules a client can probe with one packet. Each test builds the bytes by hand and
 * asserts on the reply's bytes, rcode, flags and sections.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { answer, DROP, FORWARD, refuse, Reply, SEND, HANDOFF } from '../../../src/dns/answer.ts'
import { readZoneDir, ZoneFileSource } from '../../../src/zone/file/source.ts'
import { ZoneStore } from '../../../src/zone/store.ts'
import { ZONES_DIR } from '../../conformance/cases.ts'
import { decode, optRecord, query } from '../../helpers/packets.ts'

const store = new ZoneStore()
beforeAll(async () => new ZoneFileSource().apply(store, await readZoneDir(ZONES_DIR)))

function ask(req: Buffer, tcp = false): { outcome: number; bytes: Buffer } {
  const reply = new Reply()
  const outcome = answer(req, tcp, store.table, reply)
  return { outcome, bytes: Buffer.concat([reply.head, reply.body, reply.auth, reply.opt]) }
}

/** A header with the given counts followed by `rest`. */
function raw(counts: [number, number, number, number], rest: Buffer, id = 0x4242, flags = 0x0100): Buffer {
  const h = Buffer.alloc(12)
  h.writeUInt16BE(id, 0)
  h.writeUInt16BE(flags, 2)
  counts.forEach((c, i) => h.writeUInt16BE(c, 4 + i * 2))
  return Buffer.concat([h, rest])
}
const QNAME_WEB = Buffer.from('03776562076578616d706c65036f726700', 'hex') // web.example.org
const A_IN = Buffer.from('00010001', 'hex')

describe('answer() header handling', () => {
  it('echoes ID, opcode and RD, sets QR and AA, never RA, and clears CD in authoritative answers (as Knot and NSD)', () => {
    const { outcome, bytes } = ask(query('web.example.org', 'A', { id: 0xabcd, rd: true, cd: true }))
    expect(outcome).toBe(SEND)
    const d = decode(bytes)
    expect(d.id).toBe(0xabcd)
    expect(d.flags).toEqual({ qr: true, opcode: 0, aa: true, tc: false, rd: true, ra: false, cd: false })
    expect((bytes[3] as number) & 0x10).toBe(0)
  })

  it('echoes the question with the letter case the client sent (0x20)', () => {
    const req = query('wEb.EXAMPLE.org', 'A')
    const { bytes } = ask(req)
    expect(bytes.subarray(12, 12 + 17).toString('latin1')).toBe('\x03wEb\x07EXAMPLE\x03org\x00')
    expect(decode(bytes).answer).toEqual(['web.example.org. 60 IN A 192.0.2.80'])
  })

  it('writes the answer owner as a pointer to the question at offset 12', () => {
    const { bytes } = ask(query('web.example.org', 'A'))
    const qend = 12 + 17 + 4
    expect(bytes.readUInt16BE(qend)).toBe(0xc00c)
  })

  it('drops responses (QR=1), so two servers can never loop', () => {
    const req = query('web.example.org', 'A')
    req[2] = (req[2] as number) | 0x80
    expect(ask(req).outcome).toBe(DROP)
  })

  it('drops messages shorter than a header', () => {
    for (let n = 0; n < 12; n++) expect(ask(Buffer.alloc(n)).outcome).toBe(DROP)
  })

  it('hands UPDATE off untouched; without an update hook it is NOTIMP whatever its sections hold (never FORMERR), header only', () => {
    const zone = query('example.org', 'SOA', { opcode: 5 })
    // ZOCOUNT 1, UPCOUNT (NSCOUNT) 1: an A record to add; then the same with garbage after the header.
    const rr = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 9])
    const withUpdate = Buffer.concat([zone, rr])
    withUpdate.writeUInt16BE(1, 8)
    const garbage = Buffer.concat([zone.subarray(0, 12), Buffer.from([0xff, 0xff, 0xff])])
    garbage.writeUInt16BE(7, 4)
    for (const req of [zone, withUpdate, garbage]) {
      const sent = Buffer.from(req)
      const reply = new Reply()
      expect(answer(req, false, store.table, reply)).toBe(HANDOFF)
      expect(req).toEqual(sent) // as sent: TSIG signs it so
      refuse(req, reply)
      const bytes = Buffer.concat([reply.head, reply.body, reply.auth, reply.opt])
      expect(bytes.length).toBe(12)
      expect((bytes[3] as number) & 0x0f).toBe(4)
      expect(((bytes[2] as number) >> 3) & 0x0f).toBe(5)
    }
  })

  it('answers other opcodes with NOTIMP, echoing the question', () => {
    for (const opcode of [1, 2, 4, 15]) {
      const d = decode(ask(query('web.example.org', 'A', { opcode })).bytes)
      expect(d.rcode).toBe(4)
      expect(d.flags.opcode).toBe(opcode)
      expect(d.question).toBe('web.example.org. A')
      expect(d.answer).toEqual([])
    }
  })

  it('refuses classes other than IN', () => {
    const ch = query('web.example.org', 'A')
    ch.writeUInt16BE(3, ch.length - 2)
    expect(decode(ask(ch).bytes).rcode).toBe(5)
  })

  it('hands AXFR and IXFR to the transfer code untouched (TSIG signs the request as sent); refuse() answers REFUSED', () => {
    for (const qtype of ['AXFR', 251] as const) {
      const req = query('example.org', qtype, { id: 3 })
      const original = Buffer.from(req)
      const reply = new Reply()
      expect(answer(req, true, store.table, reply)).toBe(HANDOFF)
      expect(req.equals(original)).toBe(true)
      refuse(req, reply)
      const d = decode(Buffer.concat([reply.head, reply.body, reply.auth, reply.opt]))
      expect([d.id, d.rcode, d.flags.qr, d.question]).toEqual([3, 5, true, `example.org. ${qtype === 251 ? 'TYPE251' : 'AXFR'}`])
    }
  })

  it('returns FORWARD with a REFUSED reply ready for names outside every zone', () => {
    const { outcome, bytes } = ask(query('www.example.com', 'A'))
    expect(outcome).toBe(FORWARD)
    const d = decode(bytes)
    expect(d.rcode).toBe(5)
    expect(d.flags.aa).toBe(false)
  })
})

describe('answer() malformed queries → FORMERR', () => {
  const formerr = (req: Buffer, withQuestion: boolean): void => {
    const { outcome, bytes } = ask(req)
    expect(outcome).toBe(SEND)
    expect(bytes.readUInt16BE(0)).toBe(req.readUInt16BE(0))
    expect((bytes[2] as number) & 0x80).toBe(0x80)
    expect((bytes[3] as number) & 0x0f).toBe(1)
    expect(bytes.readUInt16BE(4)).toBe(withQuestion ? 1 : 0)
    expect(bytes.readUInt16BE(6) + bytes.readUInt16BE(8)).toBe(0)
  }

  it('QDCOUNT 0', () => formerr(raw([0, 0, 0, 0], Buffer.alloc(0)), false))
  it('QDCOUNT 2', () => formerr(raw([2, 0, 0, 0], Buffer.concat([QNAME_WEB, A_IN, QNAME_WEB, A_IN])), false))
  it('a compression pointer in the question name', () => formerr(raw([1, 0, 0, 0], Buffer.from('c00c00010001', 'hex')), false))
  it('a pointer to itself (a loop)', () => formerr(raw([1, 0, 0, 0], Buffer.from('03616263c00f00010001', 'hex')), false))
  it('a label of 64 bytes', () => formerr(raw([1, 0, 0, 0], Buffer.concat([Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0]), A_IN])), false))
  it('a name over 255 bytes', () => {
    const labels = Buffer.concat(Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)])))
    formerr(raw([1, 0, 0, 0], Buffer.concat([labels, Buffer.from([0]), A_IN])), false)
  })
  it('a name cut short', () => formerr(raw([1, 0, 0, 0], Buffer.from('0377656207', 'hex')), false))
  it('a question without its type and class', () => formerr(raw([1, 0, 0, 0], Buffer.concat([QNAME_WEB, Buffer.from([0, 1])])), false))
  it('trailing garbage after the question', () => formerr(raw([1, 0, 0, 0], Buffer.concat([QNAME_WEB, A_IN, Buffer.from([1, 2, 3])])), true))
  it('records in the answer section', () => formerr(raw([1, 1, 0, 0], Buffer.concat([QNAME_WEB, A_IN, Buffer.from('c00c000100010000000a0004c0000201', 'hex')])), true))
  it('an additional count with nothing there', () => formerr(raw([1, 0, 0, 1], Buffer.concat([QNAME_WEB, A_IN])), true))
  it('two OPT records (RFC 6891 6.1.1)', () => formerr(raw([1, 0, 0, 2], Buffer.concat([QNAME_WEB, A_IN, optRecord(1232), optRecord(1232)])), true))
  it('an OPT not owned by the root', () => {
    const optOwnedByA = Buffer.concat([Buffer.from('016100', 'hex'), optRecord(1232).subarray(1)])
    formerr(raw([1, 0, 0, 1], Buffer.concat([QNAME_WEB, A_IN, optOwnedByA])), true)
  })
  it('OPT options that overrun their RDATA', () => {
    formerr(raw([1, 0, 0, 1], Buffer.concat([QNAME_WEB, A_IN, optRecord(1232, 0, false, Buffer.from('000a0010abcd', 'hex'))])), true)
  })
  it('qtype OPT in the question', () => formerr(query('web.example.org', 41), true))
})

describe('answer() EDNS (RFC 6891)', () => {
  it('answers an OPT with our OPT: payload 1232, version 0', () => {
    const d = decode(ask(query('web.example.org', 'A', { edns: 4096 })).bytes)
    expect(d.opt).toEqual({ size: 1232, extRcode: 0, version: 0, do: false })
  })
  it('copies the DO bit (RFC 3225 3)', () => {
    expect(decode(ask(query('web.example.org', 'A', { edns: 1232, dnssecOk: true })).bytes).opt?.do).toBe(true)
  })
  it('answers version 1 with BADVERS and no records', () => {
    const d = decode(ask(query('web.example.org', 'A', { edns: 1232, ednsVersion: 1 })).bytes)
    expect(d.rcode).toBe(0)
    expect(d.opt?.extRcode).toBe(1) // 16 >> 4
    expect(d.answer).toEqual([])
  })
  it('ignores unknown options', () => {
    const opt = optRecord(1232, 0, false, Buffer.from('fde90004deadbeef', 'hex'))
    const req = Buffer.concat([query('web.example.org', 'A'), opt])
    req.writeUInt16BE(1, 10)
    const d = decode(ask(req).bytes)
    expect(d.rcode).toBe(0)
    expect(d.answer).toEqual(['web.example.org. 60 IN A 192.0.2.80'])
  })
  it('sends no OPT to a client that sent none', () => {
    expect(decode(ask(query('web.example.org', 'A')).bytes).opt).toBeNull()
  })
})

describe('answer() sizes', () => {
  it('truncates a UDP answer over 512 bytes without EDNS: TC=1, question only', () => {
    const { bytes } = ask(query('big.example.org', 'TXT'))
    const d = decode(bytes)
    expect(d.flags.tc).toBe(true)
    expect([d.answer.length, d.authority.length, d.additional.length]).toEqual([0, 0, 0])
    expect(bytes.length).toBe(12 + 17 + 4)
  })
  it('keeps within a small EDNS size, counting payloads under 512 as 512', () => {
    const d = decode(ask(query('big.example.org', 'TXT', { edns: 100 })).bytes)
    expect(d.flags.tc).toBe(true)
    expect(d.opt?.size).toBe(1232)
  })
  it('fits a 673-byte answer with EDNS that TC would cut at 512', () => {
    const { bytes } = ask(query('pool.example.org', 'A', { edns: 1232 }))
    expect(decode(bytes).answer).toHaveLength(40)
    expect(bytes.length).toBe(12 + 18 + 4 + 40 * 16 + 11)
    expect(decode(ask(query('pool.example.org', 'A')).bytes).flags.tc).toBe(true)
  })
  it('caps a larger EDNS size at our 1232 bytes', () => {
    // big.example.org TXT is 1389 bytes: more than we send over UDP whatever the client offers.
    const d = decode(ask(query('big.example.org', 'TXT', { edns: 4096 })).bytes)
    expect(d.flags.tc).toBe(true)
  })
  it('never truncates over TCP', () => {
    const d = decode(ask(query('big.example.org', 'TXT'), true).bytes)
    expect(d.flags.tc).toBe(false)
    expect(d.answer).toHaveLength(12)
  })
  it('drops the additional section before truncating (RFC 2181 9)', () => {
    const d = decode(ask(query('bulk.example.org', 'MX')).bytes)
    expect(d.flags.tc).toBe(false)
    expect(d.answer).toEqual(['bulk.example.org. 3600 IN MX 10 pool.example.org.'])
    expect(d.additional).toEqual([])
    expect(decode(ask(query('bulk.example.org', 'MX', { edns: 1232 })).bytes).additional).toHaveLength(40)
  })
})
