/**
 * @module update/dynamic
 * The records dynamic updates made: written to the zone as their own source (`update`: zone files win over
 * them, they win over Incus), in every view, so the store bumps the serial, keeps the IXFR journal and
 * NOTIFY goes out as for any change. Each record remembers when it was added: a TXT at an `_acme-challenge`
 * name that no UPDATE deleted goes after the challenge lifetime. They are kept in a file of their own (written
 * whole, a second after a change) and put back at start, so a restart between an ACME client's add and the
 * CA's check loses nothing.
 */
import { readFile } from 'node:fs/promises'
import type { Logger } from 'pino'
import { writeFileAtomic } from '../atomic-file.ts'
import { checkOwnerRecords } from '../zone/check.ts'
import type { ZoneWriter } from '../zone/zone-writer.ts'
import type { Name, Rec } from '../zone/types.ts'

/** A record an update made, and when (ms since the epoch). */
export interface DynamicRecord {
  readonly rec: Rec
  readonly added: number
}

export interface DynamicOptions {
  readonly zone: ZoneWriter
  readonly log: Logger
  /** Where they are kept; null: in memory only. */
  readonly file: string | null
  /** How long an `_acme-challenge` TXT nobody deleted stays (ms). */
  readonly challengeLifetimeMs: number
  readonly now?: () => number
}

interface SavedUpdates {
  readonly version: 1
  readonly records: readonly (Rec & { readonly added: number })[]
}

/** Whether a record is an ACME DNS-01 challenge (RFC 8555 8.4): TXT at a name whose first label is `_acme-challenge`. */
export function isChallenge(rec: Rec): boolean {
  return rec.data.type === 'TXT' && (rec.name === '_acme-challenge' || rec.name.startsWith('_acme-challenge.'))
}

export class DynamicRecords {
  readonly #o: DynamicOptions
  readonly #owners = new Map<Name, readonly DynamicRecord[]>()
  /** Kept records whose zone is not served (yet): a reverse zone Incus makes at its first sync, say; tried again each minute. */
  #waiting: (Rec & { readonly added: number })[] = []
  #saveTimer: NodeJS.Timeout | null = null
  #expiry: NodeJS.Timeout | null = null
  readonly #now: () => number

  constructor(options: DynamicOptions) {
    this.#o = options
    this.#now = options.now ?? Date.now
  }

  /** What updates made at `owner`. */
  at(owner: Name): readonly DynamicRecord[] { return this.#owners.get(owner) ?? [] }

  /** Every record updates made, by owner. */
  all(): [Name, readonly DynamicRecord[]][] { return [...this.#owners].sort(([a], [b]) => (a < b ? -1 : 1)) }

  get size(): number { let n = 0; for (const r of this.#owners.values()) n += r.length; return n }

  /**
   * Replaces the records of each owner in `changes` (an update's outcome, checked whole before: the store
   * takes every owner or none), in one zone batch; the file is written a second later.
   */
  commit(changes: ReadonlyMap<Name, readonly DynamicRecord[]>): void {
    const zone = this.#o.zone
    zone.batch(() => {
      for (const [owner, recs] of changes) {
        zone.setOwner('update', owner, recs.map((r) => r.rec))
        if (recs.length === 0) this.#owners.delete(owner)
        else this.#owners.set(owner, recs)
      }
    })
    this.#scheduleSave()
  }

  /**
   * Puts back what the file kept; records of a zone not served (yet) wait, and are tried again each minute
   * (and kept in the file meanwhile). Starts the expiry of challenge records.
   */
  async load(): Promise<void> {
    const file = this.#o.file
    this.#expiry = setInterval(() => { this.#putBack(); this.expire() }, 60_000)
    this.#expiry.unref()
    if (file === null) return
    let saved: SavedUpdates
    try {
      saved = JSON.parse(await readFile(file, 'utf8')) as SavedUpdates
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.#o.log.warn({ file, err: (err as Error).message }, 'the dynamic updates file is not usable; starting without its records')
      return
    }
    if (saved?.version !== 1 || !Array.isArray(saved.records)) {
      this.#o.log.warn({ file }, 'the dynamic updates file is not an incus-dns updates file (version 1); starting without its records')
      return
    }
    this.#waiting = saved.records.filter((r) => typeof r?.name === 'string')
    const dropped = this.#putBack()
    this.expire()
    this.#o.log.info({ file, records: this.size, waitingForTheirZone: this.#waiting.length, dropped }, 'records of dynamic updates put back')
  }

  /** Puts the waiting records whose zone is served now into it; returns how many could not be read at all. */
  #putBack(): number {
    if (this.#waiting.length === 0) return 0
    const byOwner = new Map<Name, DynamicRecord[]>()
    const still: (Rec & { readonly added: number })[] = []
    let dropped = 0
    for (const r of this.#waiting) {
      if (this.#o.zone.zoneOf(r.name) === null) { still.push(r); continue }
      try {
        const [rec] = checkOwnerRecords(r.name, [{ name: r.name, ttl: r.ttl, data: r.data }])
        if (rec !== undefined) byOwner.set(r.name, [...(byOwner.get(r.name) ?? this.at(r.name)), { rec, added: typeof r.added === 'number' ? r.added : this.#now() }])
      } catch { dropped++ }
    }
    this.#waiting = still
    if (byOwner.size > 0) this.commit(byOwner)
    return dropped
  }

  /** Removes challenge TXT records older than the lifetime. */
  expire(): void {
    const cutoff = this.#now() - this.#o.challengeLifetimeMs
    const changes = new Map<Name, DynamicRecord[]>()
    for (const [owner, recs] of this.#owners) {
      const kept = recs.filter((r) => !(isChallenge(r.rec) && r.added <= cutoff))
      if (kept.length !== recs.length) changes.set(owner, kept)
    }
    if (changes.size === 0) return
    this.commit(changes)
    this.#o.log.info({ owners: [...changes.keys()].slice(0, 5), count: changes.size }, 'ACME challenge records nobody deleted removed after INCUS_DNS_UPDATE_CHALLENGE_LIFETIME')
  }

  /** Writes the file now if a write is due; stops expiry. */
  async stop(): Promise<void> {
    if (this.#expiry !== null) clearInterval(this.#expiry)
    if (this.#saveTimer === null) return
    clearTimeout(this.#saveTimer)
    this.#saveTimer = null
    await this.#save()
  }

  #scheduleSave(): void {
    if (this.#o.file === null || this.#saveTimer !== null) return
    this.#saveTimer = setTimeout(() => { this.#saveTimer = null; void this.#save() }, 1000)
    this.#saveTimer.unref()
  }

  async #save(): Promise<void> {
    const file = this.#o.file
    if (file === null) return
    const records = [...[...this.#owners.values()].flat().map((r) => ({ ...r.rec, added: r.added })), ...this.#waiting]
    try {
      await writeFileAtomic(file, JSON.stringify({ version: 1, records } satisfies SavedUpdates) + '\n', 0o600)
    } catch (err) {
      this.#o.log.warn({ file, err: (err as Error).message }, 'could not write the dynamic updates file')
    }
  }
}
