/**
 * @module cli/heap
 * V8's young generation grows (to 128 MiB here) after a burst of allocation such as loading 100k names,
 * and keeps that memory for good: RSS after loading 100k names was 340 MiB with it, 223 MiB without. A
 * server's per-query garbage is small and short-lived, so it keeps the initial size; CPU per query did not
 * change within the noise (bench/README.md, "Decisions measured"). Flags set here apply to the whole
 * process, worker threads included; this runs only from the `incus-dns` command, never in tests.
 */
import v8 from 'node:v8'

export function keepYoungGenerationSmall(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1')
}
