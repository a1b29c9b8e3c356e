#!/usr/bin/env node
/**
 * @module cli/bin
 * The `incus-dns` command: compiled to dist/cli/bin.js for the package (prepack) and `npm start`; the sources
 * run directly on Node >= 22.19 (type stripping, and what undici 8 needs) for development. The Node version is
 * checked before anything else is loaded: on an older Node the Incus client (undici 8) fails deep inside with
 * a stack trace.
 */
import { NODE_NEEDED, nodeProblem } from './node-version.ts'

const problem = nodeProblem(process.versions.node, process.execPath, NODE_NEEDED)
if (problem !== null) {
  process.stderr.write(`incus-dns: ${problem}\n`)
  process.exitCode = 2
} else {
  const [{ tuneHeap }, { main }] = await Promise.all([import('./heap.ts'), import('./main.ts')])
  tuneHeap()
  main(process.argv.slice(2), process.env).then((code) => { process.exitCode = code }, (err: unknown) => {
    process.stderr.write(`incus-dns: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`)
    process.exitCode = 70
  })
}
