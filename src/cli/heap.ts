/**
 * @module cli/heap
 * Two settings for V8's heap, made by the `incus-dns` command only (never in tests, which share a process):
 * - The young generation keeps its initial size. Loading 100k names grew it to 128 MiB, for good: RSS after
 *   that load was 340 MiB with the growth, 223 MiB without. A server's per-query garbage is small and
 *   short-lived; CPU per query did not change within the noise (bench/README.md, "Decisions measured").
 * - One full collection after a bulk change (the start-up load, a reload, an Incus sync that changed many
 *   instances), which leaves garbage in the old generation that V8 otherwise keeps for a long while: RSS
 *   per name at 100k names 955-1,049 B without, 848-893 B with (three runs each). It pauses answering
 *   for the collection (tens of ms at 100k names), which is why it is kept to bulk changes.
 * Flags set here apply to the whole process, worker threads included.
 */
import v8 from 'node:v8'
import vm from 'node:vm'

let collect: (() => void) | null = null

export function tuneHeap(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1')
  // `gc` without starting Node with --expose-gc: a context made after the flag is set has it.
  v8.setFlagsFromString('--expose-gc')
  collect = vm.runInNewContext('gc') as () => void
}

/** One full collection, when tuneHeap() ran; returns how long it took in ms, or null when it did not run. */
export function collectAfterBulkChange(): number | null {
  if (collect === null) return null
  const t0 = performance.now()
  collect()
  return performance.now() - t0
}
