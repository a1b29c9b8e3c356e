/**
 * The house as the code has it: src/'s folders, which folders each may import (the one table the import test
 * holds the code to), every file's relative imports, and what each file says it is (its `@module` header).
 * docs/design.md's layout is drawn from these by test/unit/layout.test.ts, so it cannot drift.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'

export const SRC = new URL('../../src/', import.meta.url).pathname

/**
 * The folders of src/, lowest first, each with the folders it may import (its own always). Data flows one
 * way, Incus → records → zone → wire answers → sockets: the zone core imports none of the others; the
 * transports (dns/) know nothing of Incus, forwarding, transfers or HTTP (they take hooks); talking to
 * Incus (incus/api/) knows nothing of naming, and naming nothing of the sync machinery (incus/).
 */
export const LAYERS: readonly { readonly folder: string; readonly what: string; readonly imports: readonly string[] }[] = [
  { folder: '.', what: 'what every layer shares: addresses, errors, the logger, histograms, atomic files', imports: [] },
  { folder: 'types', what: 'type declarations for dependencies that ship none', imports: [] },
  { folder: 'zone', what: 'the zone core: records by owner, compiled into the answer table', imports: ['.'] },
  { folder: 'zone/file', what: 'zone files as people write them', imports: ['.', 'zone'] },
  { folder: 'dnssec', what: 'DNSSEC: keys and signatures, handed to the zone through its signer hook', imports: ['.', 'zone'] },
  { folder: 'dns', what: 'wire answers and the sockets: the hot path, UDP, TCP, worker threads', imports: ['.', 'zone'] },
  { folder: 'forward', what: 'names outside our zones, asked upstream', imports: ['.', 'dns'] },
  { folder: 'update', what: 'RFC 2136 UPDATE: messages, grants, the records updates made', imports: ['.', 'zone', 'dns'] },
  { folder: 'xfr', what: 'zone transfers out and NOTIFY', imports: ['.', 'zone', 'dns', 'forward'] },
  { folder: 'incus/api', what: 'talking to Incus: the REST and event clients, members, what an instance looks like', imports: ['.'] },
  { folder: 'incus/naming', what: 'which names and records instances get', imports: ['.', 'zone', 'incus/api'] },
  { folder: 'incus', what: 'the sync machinery that keeps the zone live from Incus', imports: ['.', 'zone', 'incus/api', 'incus/naming'] },
  { folder: 'sim', what: 'a simulated Incus, for tests, benchmarks and the demo', imports: ['.', 'incus/api'] },
  { folder: 'config', what: 'settings: one table, flags, environment, parsing', imports: ['.', 'zone', 'dnssec', 'dns', 'update', 'incus/api', 'incus/naming'] },
  { folder: 'http', what: 'the HTTP side port: metrics, status page, zone dump', imports: ['.', 'zone', 'dnssec', 'dns', 'forward', 'update', 'xfr', 'incus/api', 'incus/naming', 'incus', 'config'] },
  { folder: 'cli', what: 'the command: wires everything together', imports: ['.', 'zone', 'zone/file', 'dnssec', 'dns', 'forward', 'update', 'xfr', 'incus/api', 'incus/naming', 'incus', 'sim', 'config', 'http'] },
]

/** Every .ts file under `dir`, sorted. */
export function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir).sort().flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : []
  })
}

/** The folder of a file, as LAYERS names it ('.' for src/ itself). */
export function folderOf(file: string): string {
  return relative(SRC, dirname(file)) || '.'
}

/**
 * A file's relative imports, resolved to paths: static ones (types included, over several lines too),
 * re-exports, dynamic `import()`, and a worker thread's file (`new URL('./x.ts', import.meta.url)`).
 */
export function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const specs = [
    ...text.matchAll(/^\s*(?:import|export)\b[^'";]*?\bfrom\s+'(\.[^']+)'/gm),
    // import('./x.ts'), and a worker's `new URL('./x.ts', import.meta.url)`: any relative .ts path in quotes.
    ...text.matchAll(/'(\.\.?\/[^'\s]+\.ts)'/g),
  ].map((m) => m[1] as string)
  return [...new Set(specs)].map((spec) => join(dirname(file), spec))
}

/** The first sentence of a file's `@module` header, or null when it has none. */
export function moduleSummary(file: string): string | null {
  const head = /^(?:#!.*\n)?\/\*\*\n \* @module (\S+)\n((?: \*.*\n)+?) \*\//.exec(readFileSync(file, 'utf8'))
  if (head === null) return null
  const text = (head[2] as string).split('\n').map((l) => l.replace(/^ \* ?/, '')).join(' ').replace(/\s+/g, ' ').trim()
  const end = text.search(/[.:;](\s|$)/)
  return end < 0 ? text : text.slice(0, end)
}

/** The file names of one folder (not its subfolders), sorted. */
function filesIn(folder: string): string[] {
  const dir = join(SRC, folder)
  return readdirSync(dir).filter((f) => f.endsWith('.ts') && statSync(join(dir, f)).isFile()).sort()
}

/** Words laid out in lines of at most `width` characters, each line after the first indented by `indent`. */
function wrap(words: readonly string[], first: string, indent: number, width = 112): string[] {
  const lines: string[] = []
  let line = first
  for (const w of words) {
    if (line.length + 1 + w.length > width && line.trim() !== '') { lines.push(line.trimEnd()); line = ' '.repeat(indent) }
    line += (line.endsWith(' ') || line === '' ? '' : ' ') + w
  }
  lines.push(line.trimEnd())
  return lines
}

/** src/ drawn for docs/design.md: each folder, lowest first, with what it is for, what it may import, and its files. */
export function layoutBlock(): string {
  const pad = 16
  const out = ['src/  (lowest first: a folder imports only itself and the folders it names)']
  for (const { folder, what, imports } of LAYERS) {
    const name = folder === '.' ? '.' : `${folder}/`
    out.push(...wrap(what.split(' '), `  ${name.padEnd(pad - 2)}`, pad))
    out.push(...wrap(imports.length === 0 ? ['nothing'] : imports.map((f) => (f === '.' ? '.' : `${f}/`)), `${' '.repeat(pad)}imports:`, pad + 9))
    out.push(...wrap(filesIn(folder), `${' '.repeat(pad)}files:`, pad + 7))
  }
  return out.join('\n')
}
