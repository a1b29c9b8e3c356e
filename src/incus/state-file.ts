/**
 * @module incus/state-file
 * Warm restart: the last synced instances, kept on disk (written atomically: a temp file, then rename), so a
 * restart while Incus is unreachable still answers with the last known records until the first sync. The
 * temporary file is created exclusively under an unguessable name (atomic-file.ts).
 */
import { readFile } from 'node:fs/promises'
import { writeFileAtomic } from '../atomic-file.ts'
import type { Logger } from 'pino'
import type { Name } from '../zone/types.ts'
import type { Network } from './api/types.ts'
import type { Mapped } from './naming/map.ts'

export interface SavedState {
  readonly version: 1
  readonly savedAt: string
  readonly reverseZones: readonly Name[]
  readonly instances: readonly Mapped[]
  /** The managed networks as last synced, so that views of Incus networks hold before the first sync (absent in older files). */
  readonly networks?: readonly Network[]
}

/** What is saved: the default view's instances and reverse zones, and the managed networks. */
export interface StateParts {
  readonly reverseZones: Iterable<Name>
  readonly instances: Iterable<Mapped>
  readonly networks: readonly Network[]
}

export async function saveState(path: string, parts: StateParts): Promise<void> {
  // Of a network, only what views and reverse zones read: its name and subnets.
  const networks = parts.networks.map((n) => ({ name: n.name, type: n.type, managed: n.managed, config: pick(n.config, ['ipv4.address', 'ipv6.address']) }))
  const state: SavedState = { version: 1, savedAt: new Date().toISOString(), reverseZones: [...parts.reverseZones], instances: [...parts.instances], networks }
  // Written exclusively to a new temporary file, never through a link planted at a known name.
  await writeFileAtomic(path, JSON.stringify(state) + '\n', 0o640)
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
  if (state?.version !== 1 || !Array.isArray(state.instances) || !Array.isArray(state.reverseZones) || (state.networks !== undefined && !Array.isArray(state.networks))) {
    throw new Error(`${path} is not an incus-dns state file (version 1)`)
  }
  return state
}

/** Writes the state file a second after a change (changes in that second share one write), and on stop. */
export class StateSaver {
  readonly path: string
  readonly #read: () => StateParts
  readonly #log: Logger
  #timer: NodeJS.Timeout | null = null

  constructor(path: string, read: () => StateParts, log: Logger) {
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
    try {
      await saveState(this.path, this.#read())
    } catch (err) {
      this.#log.warn({ file: this.path, err: (err as Error).message }, 'could not write the state file')
    }
  }
}

function pick(config: Readonly<Record<string, string>>, keys: readonly string[]): Record<string, string> {
  return Object.fromEntries(keys.flatMap((k) => (config[k] !== undefined ? [[k, config[k] as string]] : [])))
}
