/**
 * @module incus/state-file
 * Warm restart: the last synced instances, kept on disk (written atomically: a temp file, then rename), so a
 * restart while Incus is unreachable still answers with the last known records until the first sync.
 */
import { readFile, rename, writeFile } from 'node:fs/promises'
import type { Logger } from 'pino'
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

/** Writes the state file a second after a change (changes in that second share one write), and on stop. */
export class StateSaver {
  readonly path: string
  readonly #read: () => { reverseZones: Iterable<Name>; instances: Iterable<Mapped> }
  readonly #log: Logger
  #timer: NodeJS.Timeout | null = null

  constructor(path: string, read: () => { reverseZones: Iterable<Name>; instances: Iterable<Mapped> }, log: Logger) {
    this.path = path
    this.#read = read
    this.#log = log
  }

  schedule(): void {
    if (this.#timer !== null) return
    this.#timer = setTimeout(() => { this.#timer = null; void this.#save() }, 1000)
    this.#timer.unref()
  }

  /** Writes now what a scheduled write would have written; nothing when none is due. */
  async flush(): Promise<void> {
    if (this.#timer === null) return
    clearTimeout(this.#timer)
    this.#timer = null
    await this.#save()
  }

  async #save(): Promise<void> {
    const { reverseZones, instances } = this.#read()
    try {
      await saveState(this.path, reverseZones, instances)
    } catch (err) {
      this.#log.warn({ file: this.path, err: (err as Error).message }, 'could not write the state file')
    }
  }
}
