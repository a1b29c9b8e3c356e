/**
 * @module dnssec/key-store
 * The signing keys on disk, in one folder, in BIND's key file format: a zone's key is
 * made at its first signing and reused after, so that the DS at the parent stays right across restarts. A
 * private file others can read stops start-up (the key is the zone's identity). Keys carry BIND's timing
 * fields (Publish, Activate, Inactive, Delete), so a key roll is done with dnssec-settime between restarts,
 * step by step (docs/dnssec.md): a key is in the DNSKEY RRset while published, and signs while active.
 */
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomicSync } from '../atomic-file.ts'
import type { Name } from '../zone/types.ts'
import { ALGORITHM_NUMBER, generateKey, keyFileBase, keyFiles, keyFromSecret, parsePrivateKeyFile } from './keys.ts'
import type { DnssecAlgorithm, SigningKey } from './keys.ts'

/** A key with when it is in the DNSKEY RRset and when it signs (seconds since the epoch; null: no bound). */
export interface TimedKey {
  readonly key: SigningKey
  readonly file: string
  readonly publish: number | null
  readonly activate: number | null
  readonly inactive: number | null
  readonly delete: number | null
}

export class KeyStoreError extends Error {}

/** A BIND timing stamp (YYYYMMDDHHmmSS, UTC) as seconds, or null when the field is absent. */
function timing(text: string, field: string): number | null {
  const m = new RegExp(`^${field}:\\s*(\\d{14})`, 'm').exec(text)?.[1]
  if (m === undefined) return null
  return Date.UTC(+m.slice(0, 4), +m.slice(4, 6) - 1, +m.slice(6, 8), +m.slice(8, 10), +m.slice(10, 12), +m.slice(12, 14)) / 1000
}

export class KeyStore {
  readonly #dir: string
  readonly #algorithm: DnssecAlgorithm

  constructor(dir: string, algorithm: DnssecAlgorithm) {
    this.#dir = dir
    this.#algorithm = algorithm
  }

  get dir(): string { return this.#dir }

  /** Every key of `zone` in the folder, of any algorithm incus-dns signs with; checks each file's mode. */
  keysOf(zone: Name): TimedKey[] {
    const prefix = `K${zone}.+`
    let files: string[]
    try { files = readdirSync(this.#dir) } catch { return [] }
    const out: TimedKey[] = []
    for (const f of files.filter((n) => n.startsWith(prefix) && n.endsWith('.private')).sort()) {
      const path = join(this.#dir, f)
      const mode = statSync(path).mode & 0o777
      if ((mode & 0o077) !== 0) throw new KeyStoreError(`${path} can be read by others (mode ${mode.toString(8)}); make it private: chmod 600 ${path}`)
      const text = readFileSync(path, 'utf8')
      let parsed: ReturnType<typeof parsePrivateKeyFile>
      try { parsed = parsePrivateKeyFile(text) } catch (err) { throw new KeyStoreError(`${path}: ${(err as Error).message}`) }
      out.push({ key: keyFromSecret(zone, parsed.algorithm, parsed.secret), file: path, publish: timing(text, 'Publish'), activate: timing(text, 'Activate'), inactive: timing(text, 'Inactive'), delete: timing(text, 'Delete') })
    }
    return out
  }

  /** The zones the folder holds keys of, from the key files' names. */
  zones(): Name[] {
    let files: string[]
    try { files = readdirSync(this.#dir) } catch { return [] }
    const zones = new Set<Name>()
    for (const f of files) {
      const m = /^K(.*)\.\+\d{3}\+\d{5}\.private$/.exec(f)
      if (m !== null) zones.add(m[1] as Name)
    }
    return [...zones].sort()
  }

  /** The keys of `zone`, made (and written, 0600) when it has none: a new zone is signed from its first answer. */
  ensure(zone: Name, now: Date = new Date()): TimedKey[] {
    const had = this.keysOf(zone)
    if (had.length > 0) return had
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 })
    const key = generateKey(zone, this.#algorithm)
    const files = keyFiles(key, now)
    const base = join(this.#dir, keyFileBase(key))
    writeFileAtomicSync(`${base}.private`, files.private, 0o600)
    writeFileAtomicSync(`${base}.key`, files.key, 0o644)
    return this.keysOf(zone)
  }

  /** The algorithm new keys are made with. */
  get algorithm(): DnssecAlgorithm { return this.#algorithm }
}

/** Keys in the DNSKEY RRset at `now`: published and not yet deleted. */
export function publishedKeys(keys: readonly TimedKey[], now: number): SigningKey[] {
  return keys.filter((k) => (k.publish ?? 0) <= now && (k.delete === null || now < k.delete)).map((k) => k.key)
}

/** Keys that sign at `now`: active and not yet inactive (and published). */
export function activeKeys(keys: readonly TimedKey[], now: number): SigningKey[] {
  return keys.filter((k) => (k.activate ?? 0) <= now && (k.inactive === null || now < k.inactive) && (k.publish ?? 0) <= now && (k.delete === null || now < k.delete)).map((k) => k.key)
}

/** The algorithm number's mnemonic, for messages. */
export function algorithmLabel(a: DnssecAlgorithm): string {
  return `${a} (${ALGORITHM_NUMBER[a]})`
}
