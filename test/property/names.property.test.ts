/**
 * The name table (zone/name-table.ts) behaves as a Map from wire keys to bytes, whatever the sequence of sets
 * and deletes: checked against a Map model with fast-check, through growth, rehashes and arena rebuilds,
 * and through the hot path's lookup by byte range and folded-in hash.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { hashOf, NameTable } from '../../src/zone/name-table.ts'

const key = fc.stringMatching(/^[a-d]{1,3}$/).map((label) => `${String.fromCharCode(label.length)}${label}\u0000`)
const op = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), key, value: fc.uint8Array({ minLength: 1, maxLength: 300 }) }),
  fc.record({ kind: fc.constant('delete' as const), key }),
)

function check(table: NameTable, model: Map<string, Uint8Array>): void {
  expect(table.size).toBe(model.size)
  for (const [k, v] of model) expect(table.get(k)).toEqual(Buffer.from(v))
  expect(new Map([...table.entries()].map(([k, v]) => [k, Buffer.from(v)]))).toEqual(new Map([...model].map(([k, v]) => [k, Buffer.from(v)])))
}

describe('NameTable', () => {
  it('matches a Map under any sequence of sets and deletes', () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
      const table = new NameTable()
      const model = new Map<string, Uint8Array>()
      for (const o of ops) {
        if (o.kind === 'set') { table.set(o.key, o.value); model.set(o.key, o.value) }
        else expect(table.delete(o.key)).toBe(model.delete(o.key))
      }
      check(table, model)
    }), { numRuns: 200 })
  })

  it('finds a key by byte range and hash as the hot path asks, and not a longer or shorter one', () => {
    const table = new NameTable()
    for (let i = 0; i < 5000; i++) table.set(`\u0001x\u0005n${String(i).padStart(4, '0')}\u0000`, Uint8Array.of(i & 0xff, i >> 8))
    const wire = Buffer.from('\u0007garbage\u0001x\u0005n0042\u0000', 'latin1')
    const at = table.find(wire, 8, wire.length, hashOf(wire, 8, wire.length))
    expect(at).toBeGreaterThanOrEqual(0)
    expect([...table.arena.subarray(at, at + 2)]).toEqual([42, 0])
    expect(table.find(wire, 0, wire.length, hashOf(wire, 0, wire.length))).toBe(-1)
    expect(table.find(wire, 10, wire.length, hashOf(wire, 10, wire.length))).toBe(-1)
  })

  it('keeps bytes already handed out unchanged when a name is rewritten or the arena is rebuilt', () => {
    const table = new NameTable()
    table.set('\u0001a\u0000', Uint8Array.of(1, 2, 3))
    const handedOut = table.get('\u0001a\u0000') as Buffer
    for (let i = 0; i < 3000; i++) table.set('\u0001a\u0000', Uint8Array.of(i & 0xff, 9, 9))
    expect([...handedOut]).toEqual([1, 2, 3])
    expect(table.size).toBe(1)
  })
})
