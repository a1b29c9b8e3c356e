#!/usr/bin/env node
// The `incus-dns` command: compiled to dist/cli/bin.js for the package (prepack) and `npm start`; the sources
// run directly on Node >= 22.18 (type stripping) for development.
import { tuneHeap } from './heap.ts'
import { main } from './main.ts'

tuneHeap()

main(process.argv.slice(2), process.env).then((code) => { process.exitCode = code }, (err: unknown) => {
  process.stderr.write(`incus-dns: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`)
  process.exitCode = 70
})
