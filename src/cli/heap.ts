/**
 * @module cli/heap
 * V8's young generation grows (up to 2 x 64 MiB here) after a burst of allocation such as loading 100k
 * names, and keeps that memory for good: at 100k names it was 118 MiB of the process's 400 MiB RSS. A
 * server's per-query garbage is small and short-lived, so it keeps the initial size. Measured with
 * bench/load.ts: CPU per query unchanged within noise (bench/README.md). Flags set here apply to the
 * whole process, worker threads included; this runs only from the `incus-dns` command, never in tests.
 */
import v8 from 'node:v8'

export function keepYoungGenerationSmall(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1')
}
