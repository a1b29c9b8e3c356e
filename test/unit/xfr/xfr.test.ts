/**
 * TSIG (RFC 8945) and transfer building blocks: sign/verify round trips, tampering, time, key parsing;
 * RFC 1982 serial order; message packing.
 */
import { describe, expect, it } from 'vitest'
import { readMessage } from '../../../src/dns/wire.ts'
import { packMessages, serialLess } from '../../../src/xfr/transfer.ts'
import { BADKEY, BADSIG, BADTIME, findTsig, parseTsigKey, sign, verifyRequest } from '../../../src/dns/tsig.ts'
import type { Rec } from '../../../src/zone/types.ts'
import { query } from '../../helpers/packets.ts'

const key = parseTsigKey('transfer-key:c2VjcmV0LWZvci1pbmN1cy1kbnMtdGVzdHMtMzJieXRlcyE=')

describe('TSIG', () => {
  it('verifies what it signs, and the TSIG record is the last one', () => {
    const { msg, mac } = sign(query('example.org', 'AXFR'), key, { time: 1_800_000_000 })
    expect(mac).toHaveLength(32)
    expect(readMessage(msg)?.records.at(-1)?.type).toBe(250)
    expect(verifyRequest(msg, key, 1_800_000_010)).toMatchObject({ ok: true })
  })
  it('rejects a changed byte, another key, or a time outside the fudge', () => {
    const { msg } = sign(query('example.org', 'AXFR'), key, { time: 1_800_000_000 })
    const tampered = Buffer.from(msg)
    tampered[14] = 0x58 // a letter of the question
    expect(verifyRequest(tampered, key, 1_800_000_000)).toMatchObject({ ok: false, error: BADSIG })
    expect(verifyRequest(msg, { name: 'other-key', secret: key.secret }, 1_800_000_000)).toMatchObject({ ok: false, error: BADKEY })
    expect(verifyRequest(msg, { name: key.name, secret: Buffer.from('wrong') }, 1_800_000_000)).toMatchObject({ ok: false, error: BADSIG })
    expect(verifyRequest(msg, key, 1_800_000_301)).toMatchObject({ ok: false, error: BADTIME })
  })
  it('reads an unsigned message as unsigned', () => {
    expect(findTsig(query('example.org', 'AXFR'))).toBeNull()
  })
  it('parses name:secret and says what is wrong otherwise', () => {
    expect(key.name).toBe('transfer-key')
    expect(() => parseTsigKey('nocolon')).toThrow(/is not name:secret/)
    expect(() => parseTsigKey('k:not base64!')).toThrow(/not base64/)
  })
})

describe('serial arithmetic (RFC 1982)', () => {
  it.each([[1, 2, true], [2, 1, false], [5, 5, false], [0xffffffff, 1, true], [1, 0xffffffff, false], [0, 2 ** 31 - 1, true]])('%d < %d is %s', (a, b, want) => {
    expect(serialLess(a, b)).toBe(want)
  })
})

describe('packMessages', () => {
  const soa: Rec = { name: 'example.org', ttl: 3600, data: { type: 'SOA', mname: 'ns1.example.org', rname: 'h.example.org', serial: 7, refresh: 1, retry: 1, expire: 1, minimum: 1 } }
  const many: Rec[] = Array.from({ length: 3000 }, (_, i) => ({ name: `host-${i}.example.org`, ttl: 30, data: { type: 'A', address: `10.0.${i >> 8}.${i & 255}` } }))
  it('splits a large zone over messages, the question in the first only, every record once', () => {
    const question = query('example.org', 'AXFR').subarray(12)
    const msgs = packMessages(42, question, [soa, ...many, soa], null)
    expect(msgs.length).toBeGreaterThan(2)
    let total = 0
    msgs.forEach((m, i) => {
      const view = readMessage(m)
      expect(view).not.toBeNull()
      expect(m.readUInt16BE(0)).toBe(42)
      expect(m.readUInt16BE(4)).toBe(i === 0 ? 1 : 0)
      expect(m.length).toBeLessThan(20_000)
      total += view?.records.length ?? 0
    })
    expect(total).toBe(3002)
  })
})

describe('Notifier', () => {
  it('notifies at once, folds a burst into one more NOTIFY, and retries until acknowledged', async () => {
    const { Notifier } = await import('../../../src/xfr/notify.ts')
    const { ZoneStore } = await import('../../../src/zone/store.ts')
    const { FakeUpstream } = await import('../../helpers/upstreams.ts')
    const pino = (await import('pino')).default
    const store = new ZoneStore()
    store.setOwner('file', 'example.org', [{ name: 'example.org', ttl: 60, data: { type: 'SOA', mname: 'ns.example.org', rname: 'h.example.org', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 1 } }])
    const target = await FakeUpstream.start()
    const seen: { opcode: number; aa: boolean; qtype: number }[] = []
    let ignore = 1 // the first NOTIFY goes unanswered: it must be sent again
    target.script = (q, reply) => {
      seen.push({ opcode: ((q[2] as number) >> 3) & 15, aa: ((q[2] as number) & 4) !== 0, qtype: q.readUInt16BE(12 + 13) })
      if (ignore-- > 0) return
      const r = Buffer.from(q.subarray(0, 12 + 13 + 4))
      r[2] = (r[2] as number) | 0x80
      r.writeUInt16BE(0, 6)
      reply(r)
    }
    const n = new Notifier({ store, targets: [{ host: '127.0.0.1', port: target.port }], key: null, log: pino({ level: 'silent' }), debounceMs: 300, retryMs: 150 })
    try {
      n.zoneChanged('example.org')
      for (let i = 0; i < 10; i++) n.zoneChanged('example.org') // a burst inside the quiet window
      await new Promise((r) => setTimeout(r, 800))
      expect(seen.every((m) => m.opcode === 4 && m.aa && m.qtype === 6)).toBe(true)
      // the first NOTIFY, its retry after the unanswered try, and one for the whole burst
      expect(seen).toHaveLength(3)
      expect(n.stats).toEqual({ sent: 3, acknowledged: 2, failed: 0 })
    } finally {
      n.stop()
      await target.stop()
    }
  })
})
