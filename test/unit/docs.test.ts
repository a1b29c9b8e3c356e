/**
 * The docs stay true to the tree (issue 26, 14): every test file, source file and script they name exists,
 * wherever they name it (README, docs/, deploy/ comments, bench/README.md).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = new URL('../../', import.meta.url).pathname

function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((f) => {
    const p = join(dir, f)
    return statSync(join(ROOT, p)).isDirectory() ? files(p) : [p]
  })
}

describe('the docs name what is there', () => {
  it('every test/, src/, bench/ and deploy/ path named in README.md, docs/, deploy/ and bench/README.md exists', () => {
    const docs = ['README.md', 'bench/README.md', ...files('docs'), ...files('deploy')]
    const missing: string[] = []
    for (const doc of docs) {
      const text = readFileSync(join(ROOT, doc), 'utf8')
      for (const m of text.matchAll(/\b((?:test|src|bench|deploy)\/[A-Za-z0-9_./-]+\.(?:ts|sh|yml|service))\b/g)) {
        if (!existsSync(join(ROOT, m[1] as string))) missing.push(`${doc}: ${m[1]}`)
      }
    }
    expect(missing).toEqual([])
  })
})
