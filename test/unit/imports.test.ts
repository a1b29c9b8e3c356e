/**
 * Data flows one way (Incus → records → zone → wire answers → sockets): the zone core imports none of the
 * other folders, and the transports know nothing of Incus, forwarding, transfers or HTTP (they take hooks).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const SRC = new URL('../../src/', import.meta.url).pathname

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : []
  })
}

function importsOf(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/^import .* from '([^']+)'/gm)].map((m) => m[1] as string)
}

describe('import direction', () => {
  it.each([
    ['zone', ['/dns/', '/incus/', '/forward/', '/xfr/', '/http/', '/cli/', '/config/', '/sim/']],
    ['dns', ['/incus/', '/forward/', '/xfr/', '/http/', '/cli/', '/config/', '/sim/']],
  ])('src/%s imports none of %j', (folder, banned) => {
    for (const file of files(join(SRC, folder))) {
      for (const spec of importsOf(file)) {
        const resolved = join(file, '..', spec).replace(SRC, '/')
        expect(banned.some((b) => resolved.startsWith(b)), `${file.replace(SRC, 'src/')} imports ${spec}`).toBe(false)
      }
    }
  })
})

describe('no import cycles', () => {
  it('src has none, type imports included: the arrows run one way, inside a folder too', () => {
    const graph = new Map<string, string[]>()
    for (const file of files(SRC)) {
      graph.set(file, importsOf(file).filter((spec) => spec.startsWith('.')).map((spec) => join(file, '..', spec)))
    }
    const cycles: string[] = []
    const state = new Map<string, 'open' | 'done'>()
    const path: string[] = []
    const visit = (file: string): void => {
      state.set(file, 'open')
      path.push(file)
      for (const next of graph.get(file) ?? []) {
        if (!graph.has(next)) continue
        if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next].map((f) => f.replace(SRC, 'src/')).join(' -> '))
        else if (state.get(next) === undefined) visit(next)
      }
      path.pop()
      state.set(file, 'done')
    }
    for (const file of graph.keys()) if (state.get(file) === undefined) visit(file)
    expect(cycles).toEqual([])
  })
})
