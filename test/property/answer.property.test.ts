/**
 * Property tests (fast-check, time-bounded as undici's fuzzing tests are): whatever bytes arrive,
 * answer() never throws, and it either drops them or answers FORMERR/NOTIMP/... echoing the ID; and the
 * real UDP server keeps answering after a flood of such packets.
 */
import { randomBytes } from 'node:crypto'
import dgram from 'node:dgram'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { answer, DROP, refuse, Reply, HANDOFF } from '../../src/dns/answer.ts'
import { Cookies } from '../../src/dns/cookies.ts'
import { makeIdentity } from '../../src/dns/identity.ts'
import { ViewTable } from '../../src/dns/view-table.ts'
import { readZoneDir, ZoneFileSource } from '../../src/zone/file/source.ts'
import { ZoneStore } from '../../src/zone/store.ts'
import { ZONES_DIR } from '../conformance/cases.ts'
import { dig } from '../helpers/dig.ts'
import { udpExchange } from '../helpers/net.ts'
import { decode, query } from '../helpers/packets.ts'
import { startServer } from '../helpers/server.ts'

const RUN_MS = process.env.CI === 'true' ? 8000 : 3000
const TIMEOUT = { timeout: RUN_MS + 10_000 }
const store = new ZoneStore()
beforeAll(async () => new ZoneFileSource().apply(store, await readZoneDir(ZONES_DIR)))

const NAMES = ['web.example.org', 'WWW.example.org', 'nothere.example.org', 'a.b.example.org', 'example.com', 'example.org', 'big.example.org']
const TYPES = ['A', 'AAAA', 'TXT', 'MX', 'ANY', 'SOA', 'CNAME', 'NS', 'SRV']

/** A valid query, then damaged: truncated, bytes flipped, bytes inserted, or counts changed. */
const mutatedQuery = fc.record({
  name: fc.constantFrom(...NAMES),
  type: fc.constantFrom(...TYPES),
  edns: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }),
  cut: fc.option(fc.nat(), { nil: undefined }),
  flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
  insert: fc.option(fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 })), { nil: undefined }),
}).map(({ name, type, edns, cut, flips, insert }) => {
  let b = query(name, type, { edns })
  for (const [pos, v] of flips) b[pos % b.length] = v
  if (insert !== undefined) {
    const at = insert[0] % b.length
    b = Buffer.concat([b.subarray(0, at), Buffer.from(insert[1]), b.subarray(at)])
  }
  return cut === undefined ? b : b.subarray(0, cut % (b.length + 1))
})

/** Names with pointer loops, 64-byte labels and 256-byte names, as dns-packet's name_decoding lists. */
const hostileName = fc.oneof(
  fc.constant(Buffer.from('c00c', 'hex')),
  fc.constant(Buffer.from('03616263c00c', 'hex')),
  fc.constant(Buffer.concat([Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0])])),
  fc.constant(Buffer.concat([...Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([51]), Buffer.alloc(51, 0x62)])), Buffer.from([0])])),
  fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
)

/** With an identity, NSID and the CHAOS names are answered too (dns/identity.ts): half the runs use one. */
const IDENTITY = makeIdentity('fuzz.example', 'incus-dns fuzz')
/** A ViewTable with client prefixes, trusting every source with EDNS Client Subnet (dns/subnet.ts). */
const SUBNETS = new ViewTable(store.table)
SUBNETS.set([SUBNETS.default, { name: 'v', table: store.table, queries: 0 }], [
  { cidr: '10.0.0.0/8', view: { name: 'v', table: store.table, queries: 0 } }, { cidr: 'fd00::/8', view: { name: 'v', table: store.table, queries: 0 } }])
SUBNETS.setSubnetSources(['0.0.0.0/0'])

/** DNS cookies on, and in require mode; the peers they are bound to, one of them unparsable. */
const COOKIES = [new Cookies('on', randomBytes(16), randomBytes(16)), new Cookies('require', randomBytes(16))] as const
const PEERS = ['192.0.2.1', '2001:db8::1', '::ffff:198.51.100.100', '']

function check(req: Buffer): void {
  const id = req.length >= 2 ? req.readUInt16BE(0) : -1
  const last = req[req.length - 1] ?? 0
  // The last byte picks the identity, the cookies (none, on, require) and the peer: every mix gets hit.
  const reply = new Reply(last % 2 === 0 ? IDENTITY : null, last % 3 === 0 ? null : COOKIES[last % 3 - 1])
  reply.peer = PEERS[last % 4] as string
  const copy = Buffer.from(req)
  const outcome = answer(copy, false, store.table, reply)
  if (outcome === DROP) return
  if (outcome === HANDOFF) refuse(copy, reply) // what the transports do without a transfer hook
  const out = Buffer.concat([reply.head, reply.body, reply.auth, reply.opt])
  expect(out.readUInt16BE(0)).toBe(id)
  expect((out[2] as number) & 0x80).toBe(0x80)
  expect(out.length).toBeLessThanOrEqual(1232)
  // What we send must itself be a well-formed message.
  decode(out)
}

describe('answer() on hostile input', () => {
  it('random bytes: never throws; drops or answers echoing the ID', TIMEOUT, () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (u) => check(Buffer.from(u))),
      { interruptAfterTimeLimit: RUN_MS, numRuns: 1_000_000 })
  })

  it('mutated valid queries: never throws; drops or answers echoing the ID', TIMEOUT, () => {
    fc.assert(fc.property(mutatedQuery, check), { interruptAfterTimeLimit: RUN_MS, numRuns: 1_000_000 })
  })

  it('CHAOS questions and EDNS options of every kind, ECS from a trusted resolver included: never throws; REFUSED, FORMERR or one TXT, NSID when asked', TIMEOUT, () => {
    const option = fc.record({ code: fc.constantFrom(3, 3, 8, 8, 10, 10, 12, 65001), data: fc.oneof(fc.uint8Array({ maxLength: 20 }), fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.uint8Array({ minLength: 24, maxLength: 24 })) })
      .map(({ code, data }) => Buffer.concat([Buffer.from([code >> 8, code & 0xff, 0, data.length]), Buffer.from(data)]))
    const chaosName = fc.constantFrom('id.server', 'ID.SERVER', 'hostname.bind', 'version.bind', 'version.server', 'authors.bind', 'web.example.org', 'x')
    fc.assert(fc.property(chaosName, fc.constantFrom(16, 1, 255, 28), fc.constantFrom(3, 1, 4), fc.array(option, { maxLength: 3 }), (name, qtype, qclass, options) => {
      const q = query(name, qtype)
      q.writeUInt16BE(qclass, q.length - 2)
      q.writeUInt16BE(1, 10)
      const rdata = Buffer.concat(options)
      const opt = Buffer.alloc(11)
      opt.writeUInt16BE(41, 1)
      opt.writeUInt16BE(1232, 3)
      opt.writeUInt16BE(rdata.length, 9)
      const req = Buffer.concat([q, opt, rdata])
      check(req)
      const reply = new Reply(IDENTITY, COOKIES[0])
      reply.peer = '192.0.2.1'
      answer(Buffer.from(req), false, store.table, reply, SUBNETS) // as from a resolver trusted with ECS
      const out = Buffer.concat([reply.head, reply.body, reply.auth, reply.opt])
      const d = decode(out)
      // The first cookie option decides: malformed is FORMERR, else ours comes back (client cookie, 16 octets of ours).
      const cookie = options.find((o) => o.readUInt16BE(0) === 10)
      const len = cookie?.readUInt16BE(2) ?? -1
      if (cookie !== undefined && d.rcode !== 1) expect(len === 8 || (len >= 16 && len <= 40)).toBe(true)
      if (cookie !== undefined && (len === 8 || (len >= 16 && len <= 40)) && d.rcode === 0) {
        expect(reply.opt.includes(Buffer.concat([Buffer.from([0, 10, 0, 24]), cookie.subarray(4, 12)]))).toBe(true)
      }
      const asked = options.some((o) => o.readUInt16BE(0) === 3)
      expect(out.includes(Buffer.from('fuzz.example'))).toBe(asked || (d.rcode !== 1 && qclass === 3 && qtype === 16 && /^(id\.server|hostname\.bind)$/i.test(name)))
      if (qclass === 3) expect(d.rcode === 5 || d.rcode === 1 || (d.rcode === 0 && d.answer.length === 1)).toBe(true)
    }), { interruptAfterTimeLimit: RUN_MS, numRuns: 100_000 })
  })

  it('hostile names in the question: FORMERR, never an answer', TIMEOUT, () => {
    fc.assert(fc.property(hostileName, fc.integer({ min: 0, max: 65535 }), (name, id) => {
      const head = Buffer.alloc(12)
      head.writeUInt16BE(id, 0)
      head.writeUInt16BE(1, 4)
      const req = Buffer.concat([head, name, Buffer.from('00010001', 'hex')])
      const reply = new Reply()
      const outcome = answer(req, false, store.table, reply)
      if (outcome === DROP) return
      const rcode = (reply.head[3] as number) & 0x0f
      // Random bytes may spell a valid name; then it is an ordinary answer for it.
      if (rcode === 1) expect(reply.body.length).toBe(0)
    }), { interruptAfterTimeLimit: RUN_MS, numRuns: 100_000 })
  })

  it('valid queries for random names: NOERROR/NXDOMAIN/REFUSED, never FORMERR', TIMEOUT, () => {
    const label = fc.stringMatching(/^[a-zA-Z0-9-]{1,20}$/)
    fc.assert(fc.property(fc.array(label, { minLength: 1, maxLength: 5 }), fc.boolean(), fc.constantFrom(...TYPES), (labels, inZone, type) => {
      const name = inZone ? `${labels.join('.')}.example.org` : labels.join('.')
      const d = decode((() => {
        const reply = new Reply()
        answer(query(name, type), false, store.table, reply)
        return Buffer.concat([reply.head, reply.body, reply.auth, reply.opt])
      })())
      expect([0, 3, 5]).toContain(d.rcode)
      if (inZone) expect(d.rcode).not.toBe(5)
    }), { interruptAfterTimeLimit: RUN_MS, numRuns: 100_000 })
  })
})

describe('the UDP server after hostile input', () => {
  let server: Awaited<ReturnType<typeof startServer>>
  beforeAll(async () => { server = await startServer(ZONES_DIR) })
  afterAll(async () => { await server?.stop() })

  it('still answers after 2000 malformed datagrams', async () => {
    const samples = fc.sample(fc.oneof(mutatedQuery, fc.uint8Array({ maxLength: 600 }).map((u) => Buffer.from(u))), { numRuns: 2000, seed: 42 })
    // One client socket for the whole flood, so it does not take 2000 ephemeral ports from other tests.
    const flood = dgram.createSocket('udp4')
    await new Promise<void>((r) => flood.bind(0, '127.0.0.1', () => r()))
    for (const b of samples) await new Promise<void>((r) => flood.send(b, server.port, '127.0.0.1', () => r()))
    flood.close()
    // The flood overflows the socket's receive queue, so the kernel drops some datagrams, maybe our first
    // query too; a client retries (dig does), and the server must answer within a few tries.
    let reply: Buffer | null = null
    for (let attempt = 0; attempt < 5 && reply === null; attempt++) {
      reply = await udpExchange(server.port, query('web.example.org', 'A', { id: 7 }), 500)
    }
    expect(reply, JSON.stringify(server.stats)).not.toBeNull()
    const d = decode(reply as Buffer)
    expect(d.id).toBe(7)
    expect(d.answer).toEqual(['web.example.org. 60 IN A 192.0.2.80'])
    expect(server.stats.dropped.internal_error).toBe(0)
  })
  it('with rate limiting and cookies required: 2000 malformed datagrams, no crash, and a TCP query still answered', async () => {
    const strict = await startServer(ZONES_DIR, ['--rrl-rate', '5', '--cookies', 'require'])
    const samples = fc.sample(fc.oneof(mutatedQuery, fc.uint8Array({ maxLength: 600 }).map((u) => Buffer.from(u))), { numRuns: 2000, seed: 42 })
    // One client socket for the whole flood, so it does not take 2000 ephemeral ports from other tests.
    const flood = dgram.createSocket('udp4')
    await new Promise<void>((r) => flood.bind(0, '127.0.0.1', () => r()))
    for (const b of samples) await new Promise<void>((r) => flood.send(b, strict.port, '127.0.0.1', () => r()))
    flood.close()
    // Cookies are required over UDP, so the check is over TCP, which neither limits.
    const d = await dig('127.0.0.1', strict.port, 'web.example.org', 'A', { tcp: true })
    expect(d.answer).toEqual(['web.example.org. 60 IN A 192.0.2.80'])
    expect(strict.stats.dropped.internal_error).toBe(0)
    expect((strict.stats.rrl[0] ?? 0) + (strict.stats.rrl[1] ?? 0)).toBeGreaterThan(0) // the flood's FORMERRs were limited
    await strict.stop()
  })

})
