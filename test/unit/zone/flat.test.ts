import { describe, expect, it } from 'vitest'
import { flatString } from '../../../src/zone/name.ts'

describe('flatString', () => {
  it('keeps the text of a name exactly', () => {
    const label = ['web', 'db', 'x'][Date.now() % 3] as string
    const built = `${label}-0.incus.example.org`
    expect(flatString(built)).toBe(built)
    expect(flatString('')).toBe('')
    expect(flatString('default/web')).toBe('default/web')
  })

  it('leaves strings that are not ASCII names alone rather than change them', () => {
    expect(flatString('café.example.org')).toBe('café.example.org')
    expect(flatString('名前.example')).toBe('名前.example')
    const long = 'a'.repeat(5000)
    expect(flatString(long)).toBe(long)
  })
})
