/**
 * The case table against every way of asking: answer() in-process, the UDP server through dig, the TCP
 * server through kdig.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { answer, Reply } from '../../src/dns/answer.ts'
import { readZoneDir, ZoneFileSource } from '../../src/zone/file/source.ts'
import { ZoneStore } from '../../src/zone/store.ts'
import { havePeer } from '../helpers/binaries.ts'
import { dig, kdig } from '../helpers/dig.ts'
import { decode, query } from '../helpers/packets.ts'
import { startServer } from '../helpers/server.ts'
import { CASES, ZONES_DIR } from './cases.ts'
import type { Case } from './cases.ts'
import { normalize } from './normalize.ts'

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED']

function expected(c: Case) {
  return normalize({ rcode: c.rcode, flags: c.flags, answer: c.answer ?? [], authority: c.authority ?? [], additional: c.additional ?? [] })
}

/** What a case's dig options mean for a hand-built query. */
function ednsOf(c: Case): number | undefined {
  if (c.args?.includes('+noedns')) return undefined
  const size = c.args?.find((a) => a.startsWith('+bufsize='))
  return size === undefined ? 1232 : Number(size.split('=')[1])
}

describe('answer() in-process', () => {
  const store = new ZoneStore()
  beforeAll(async () => new ZoneFileSource().apply(store, await readZoneDir(ZONES_DIR)))

  it.each(CASES)('$qname $qtype → $rcode', (c) => {
    const reply = new Reply()
    const edns = ednsOf(c)
    answer(query(c.qname, c.qtype, { id: 0xbeef, rd: false, edns, cd: c.args?.includes('+cdflag') === true }), false, store.table, reply)
    const d = decode(Buffer.concat([reply.head, reply.body, reply.auth, reply.opt]))
    const flags = Object.entries(d.flags).filter(([k, v]) => v === true && k !== 'opcode').map(([k]) => k)
    expect(normalize({ rcode: RCODES[d.rcode] ?? String(d.rcode), flags, answer: d.answer, authority: d.authority, additional: d.additional }))
      .toEqual(expected(c))
    expect(d.id).toBe(0xbeef)
    expect(d.question).toBe(`${c.qname}. ${c.qtype}`) // the client's letter case comes back (0x20)
    expect(d.opt === null).toBe(edns === undefined)
    if (d.opt !== null) expect(d.opt.size).toBe(1232)
  })
})

describe.skipIf(!havePeer('dig', 'bind9-dnsutils') || !havePeer('kdig', 'knot-dnsutils'))('the servers, through dig and kdig', () => {
  let server: Awaited<ReturnType<typeof startServer>>
  beforeAll(async () => { server = await startServer(ZONES_DIR) })
  afterAll(async () => { await server?.stop() })

  it.each(CASES)('dig UDP: $qname $qtype → $rcode', async (c) => {
    const got = await dig('127.0.0.1', server.port, c.qname, c.qtype, { args: c.args })
    expect(normalize(got)).toEqual(expected(c))
    expect(got.opt).toBe(!(c.args ?? []).includes('+noedns'))
    // dig prints the question as sent: our answer echoes the client's letter case.
    expect(got.raw).toContain(`;${c.qname}.`)
  })

  it.each(CASES.filter((c) => c.udpOnly !== true))('kdig TCP: $qname $qtype → $rcode', async (c) => {
    const got = await kdig('127.0.0.1', server.port, c.qname, c.qtype, { tcp: true, args: c.args })
    expect(normalize(got)).toEqual(expected(c))
  })

  it.each(CASES.filter((c) => c.udpOnly !== true).slice(0, 8))('dig over IPv6 [::1]: $qname $qtype', async (c) => {
    const got = await dig('::1', server.port6, c.qname, c.qtype, { args: c.args })
    expect(normalize(got)).toEqual(expected(c))
  })

  it('falls back to TCP after TC, and dig then gets the whole RRset', async () => {
    const got = await dig('127.0.0.1', server.port, 'big.example.org', 'TXT', { args: ['+noedns'] })
    expect(got.flags).not.toContain('tc')
    expect(got.answer).toHaveLength(12)
  })
})
