/**
 * @module incus/state-file
 * Warm restart: the last synced instances, kept on disk (written atomically: a temp file, then rename), so a
 * restart while Incus is unreachable still answers with the last known records until the first sync.
 */
import { readFile, rename, writeFile } from 'node:fs/promises'
import type { Name } from '../zone/types.ts'
import type { Mapped } from './map.ts'

export interface SavedState {
  readonly version: 1
  readonly savedAt: string
  readonly reverseZones: readonly Name[]
  readonly instances: readonly Mapped[]
}

export async function saveState(path: string, reverseZones: Iterable<Name>, instances: Iterable<Mapped>): Promise<void> {
  const state: SavedState = { version: 1, savedAt: new Date().toISOString(), reverseZones: [...reverseZones], instances: [...instances] }
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, JSON.stringify(state) + '\n', { mode: 0o640 })
  await rename(tmp, path)
}

/** The saved state, or null when there is none; throws on a file that exists but cannot be used. */
export async function loadState(path: string): Promise<SavedState | null> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  const state = JSON.parse(text) as SavedState
  if (state?.version !== 1 || !Array.isArray(state.instances) || !Array.isArray(state.reverseZones)) {
    throw new Error(`${path} is not an incus-dns state file (version 1)`)
  }
  return state
}
