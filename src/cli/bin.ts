#!/usr/bin/env node
// The `incus-dns` command. Runs on Node >= 22.18 (TypeScript type stripping); `npm start` brings Node 24.
import { tuneHeap } from './heap.ts'
import { main } from './main.ts'

tuneHeap()

main(process.argv.slice(2), process.env).then((code) => { process.exitCode = code }, (err: unknown) => {
  process.stderr.write(`incus-dns: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`)
  process.exitCode = 70
})
