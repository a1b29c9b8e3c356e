/**
 * The house keeps its shape (test/helpers/layout.ts has the one table of it): every folder of src/ has a
 * place among the layers and imports only the folders its layer names, so data flows one way (Incus →
 * records → zone → wire answers → sockets); no file imports itself round in a circle, type imports, dynamic
 * imports and worker files included; and every file opens with a true `@module` header.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { folderOf, importsOf, LAYERS, SRC, sourceFiles } from '../helpers/layout.ts'

function folders(dir = SRC): string[] {
  return readdirSync(dir).filter((f) => statSync(join(dir, f)).isDirectory()).flatMap((f) => [relative(SRC, join(dir, f)), ...folders(join(dir, f))])
}

describe('import direction', () => {
  it('every folder of src/ has a layer, and every layer a folder', () => {
    expect(['.', ...folders()].sort()).toEqual(LAYERS.map((l) => l.folder).sort())
  })

  it.each(LAYERS.map((l) => [l.folder, l.imports] as const))('src/%s imports only itself and %j', (folder, allowed) => {
    const wrong: string[] = []
    for (const file of sourceFiles().filter((f) => folderOf(f) === folder)) {
      for (const target of importsOf(file)) {
        const to = folderOf(target)
        if (to !== folder && !allowed.includes(to)) wrong.push(`${relative(SRC, file)} imports ${relative(SRC, target)}`)
      }
    }
    expect(wrong).toEqual([])
  })

  it('the reader of imports sees every form the code uses: multi-line, type-only, dynamic, a worker file', () => {
    const seen = (from: string): string[] => importsOf(join(SRC, from)).map((f) => relative(SRC, f))
    expect(seen('cli/main.ts')).toContain('cli/incus-sources.ts') // a plain import
    expect(seen('cli/incus-sources.ts')).toContain('incus/source.ts') // import('../incus/source.ts')
    expect(seen('incus/sync-reader.ts')).toContain('incus/sync-worker.ts') // new URL('./sync-worker.ts', import.meta.url)
    expect(seen('cli/main.ts')).toContain('dns/answer.ts') // import type
    for (const file of sourceFiles()) for (const target of importsOf(file)) expect(existsSync(target), `${relative(SRC, file)} → ${target}`).toBe(true)
  })
})

describe('no import cycles', () => {
  it('src has none, type imports included: the arrows run one way, inside a folder too', () => {
    const graph = new Map<string, string[]>()
    for (const file of sourceFiles()) graph.set(file, importsOf(file))
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

describe('module headers', () => {
  it('every file opens with a @module header that names its own path', () => {
    const wrong: string[] = []
    for (const file of sourceFiles()) {
      const name = relative(SRC, file).replace(/(\.d)?\.ts$/, '')
      const head = /^(?:#!.*\n)?\/\*\*\n \* @module (\S+)\n \* \S/.exec(readFileSync(file, 'utf8'))
      if (head?.[1] !== name) wrong.push(`${relative(SRC, file)}: ${head === null ? 'no @module header first' : `says @module ${head[1]}`}`)
    }
    expect(wrong).toEqual([])
  })
})
