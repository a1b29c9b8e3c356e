import { describe, expect, it } from 'vitest'
import { DnameTargets, Readers } from '../../../src/zone/depends.ts'

describe('Readers', () => {
  it('finds the owners that read a name, and forgets what an owner read before its recompile', () => {
    const r = new Readers()
    r.set('www.example', new Set(['web.example', 'cdn.example']))
    r.set('api.example', new Set(['web.example']))
    expect([...(r.of('web.example') ?? [])].sort()).toEqual(['api.example', 'www.example'])
    r.set('www.example', new Set(['cdn.example'])) // recompiled: it no longer reads web
    expect([...(r.of('web.example') ?? [])]).toEqual(['api.example'])
    expect([...(r.of('cdn.example') ?? [])]).toEqual(['www.example'])
    r.set('www.example', new Set()) // no answers any more
    expect([...(r.of('cdn.example') ?? [])]).toEqual([])
  })
})

describe('DnameTargets', () => {
  it('counts DNAMEs per target: a name stays below a target until the last DNAME pointing there moves', () => {
    const t = new DnameTargets()
    expect(t.below('a.target.example')).toBe(false)
    t.move(null, 'target.example')
    t.move(null, 'target.example')
    expect(t.below('a.target.example')).toBe(true)
    expect(t.below('b.a.target.example')).toBe(true)
    expect(t.below('target.example')).toBe(false) // strictly below
    t.move('target.example', 'other.example')
    expect(t.below('a.target.example')).toBe(true)
    expect(t.below('x.other.example')).toBe(true)
    t.move('target.example', null)
    expect(t.below('a.target.example')).toBe(false)
    t.move('other.example', 'other.example') // unchanged
    expect(t.below('x.other.example')).toBe(true)
  })
})
