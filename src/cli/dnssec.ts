/**
 * @module cli/dnssec
 * INCUS_DNS_DNSSEC's parts, wired: the key folder (checked at start: a private key others can read stops it),
 * the signer every store compiles its signed answers through, the timer that signs everything again when the
 * validity window moves on, and `incus-dns dnssec ds [zone]`, the DS records to hand to the parent.
 */
import { accessSync, constants, mkdirSync, statSync } from 'node:fs'
import type { Logger } from 'pino'
import type { Config } from '../config/settings.ts'
import { KeyStore, KeyStoreError } from '../dnssec/key-store.ts'
import { activeKeys, algorithmLabel, publishedKeys } from '../dnssec/key-store.ts'
import { dsRdata } from '../dnssec/keys.ts'
import type { SigningKey } from '../dnssec/keys.ts'
import type { DnssecStatus } from '../http/status.ts'
import { DnssecSigner } from '../dnssec/zone-signer.ts'
import { IncusDnsError } from '../errors.ts'
import type { ZoneStore } from '../zone/store.ts'

/** TTL of DNSKEY, CDS and CDNSKEY. */
export const DNSKEY_TTL = 3600
/** How often the validity window is looked at. */
const REFRESH_CHECK_MS = 3_600_000

/** The key folder: INCUS_DNS_DNSSEC_KEY_DIR, else beside the state file. */
export function keyDirOf(config: Pick<Config, 'dnssecKeyDir' | 'stateFile'>): string | null {
  return config.dnssecKeyDir ?? (config.stateFile === null ? null : `${config.stateFile}.keys`)
}

const unusable = (dir: string, err: unknown): string =>
  `INCUS_DNS_DNSSEC_KEY_DIR ${dir} cannot be made or written (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give a folder incus-dns may create and write, e.g. /var/lib/incus-dns/keys`

/**
 * What is wrong with the key folder as it stands, without changing anything (`incus-dns check` says these, and
 * start-up stops at the first): not a folder, unreadable, a private key others can read, a key file that does
 * not parse. A folder that does not exist yet is fine: start-up makes it.
 */
export function keyDirProblems(config: Config): string[] {
  if (!config.dnssec) return []
  const dir = keyDirOf(config)
  if (dir === null) return [] // the settings' own check says so (config/load.ts)
  let mode = 0
  try { mode = statSync(dir).mode } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? [] : [unusable(dir, err)]
  }
  if ((mode & 0o170000) !== 0o040000) return [`INCUS_DNS_DNSSEC_KEY_DIR ${dir} is not a folder; give a folder for the signing keys`]
  const keys = new KeyStore(dir, config.dnssecAlgorithm)
  const problems: string[] = []
  for (const zone of keys.zones()) {
    try { keys.keysOf(zone) } catch (err) {
      if (!(err instanceof KeyStoreError)) throw err
      problems.push(`INCUS_DNS_DNSSEC_KEY_DIR: ${err.message}`)
    }
  }
  return problems
}

/** The signer, with its key folder checked and made; throws IncusDnsError (a setting to fix) for one it cannot use. */
export function makeSigner(config: Config): DnssecSigner {
  const dir = keyDirOf(config)
  if (dir === null) throw new IncusDnsError('INCUS_DNS_ERR_CONFIG', 'INCUS_DNS_DNSSEC is on but no key folder is set; set INCUS_DNS_DNSSEC_KEY_DIR')
  const problem = keyDirProblems(config)[0]
  if (problem !== undefined) throw new IncusDnsError('INCUS_DNS_ERR_CONFIG', problem)
  // Made now, and written to now: a zone's first key is written while its first answers are compiled.
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    accessSync(dir, constants.W_OK)
  } catch (err) {
    throw new IncusDnsError('INCUS_DNS_ERR_CONFIG', unusable(dir, err))
  }
  return new DnssecSigner(new KeyStore(dir, config.dnssecAlgorithm), { validity: config.dnssecValidity, refresh: config.dnssecRefresh, dnskeyTtl: DNSKEY_TTL })
}

/** Signs every store's names again when the validity window moves on; returns the timer's stop. */
export function refreshSignatures(signer: DnssecSigner, stores: () => readonly ZoneStore[], log: Logger): () => void {
  let window = signer.validity().inception
  const timer = setInterval(() => {
    const now = signer.validity().inception
    if (now === window) return
    window = now
    const t0 = performance.now()
    const before = signer.made
    for (const store of stores()) store.refreshSignatures()
    log.info({ signatures: signer.made - before, ms: Math.round(performance.now() - t0), expiration: new Date(signer.validity().expiration * 1000).toISOString() }, 'DNSSEC signatures made again for the new validity window')
  }, REFRESH_CHECK_MS)
  timer.unref()
  return () => clearInterval(timer)
}

/** A key's DS record in presentation form, as `dnssec ds` prints it. */
function dsLine(zone: string, key: SigningKey): string {
  const ds = dsRdata(zone, key.dnskey)
  return `${zone}. ${DNSKEY_TTL} IN DS ${ds.readUInt16BE(0)} ${ds[2]} ${ds[3]} ${ds.subarray(4).toString('hex').toUpperCase()}`
}

/** What the status page says of DNSSEC: each zone's keys and the DS its parent needs, and what is left to sign. */
export function dnssecStatus(signer: DnssecSigner, keyDir: string, zones: () => readonly string[], pending: () => number): DnssecStatus {
  const now = Math.floor(Date.now() / 1000)
  return {
    keyDir,
    pending: pending(),
    zones: [...zones()].sort().map((zone) => {
      const keys = signer.keysOf(zone)
      const signing = new Set(activeKeys(keys, now).map((k) => k.keyTag))
      const published = publishedKeys(keys, now)
      return {
        zone,
        keys: published.map((k) => ({ tag: k.keyTag, algorithm: algorithmLabel(k.algorithm), signing: signing.has(k.keyTag) })),
        ds: published.filter((k) => signing.has(k.keyTag)).map((k) => dsLine(zone, k)),
      }
    }),
  }
}

/** `incus-dns dnssec ds [zone]`: the DS record of each zone's active keys, as a parent takes them. */
export function dsLines(config: Config, zone: string | null): { lines: string[]; problem: string | null } {
  const dir = keyDirOf(config)
  if (dir === null) return { lines: [], problem: 'no key folder: set INCUS_DNS_DNSSEC_KEY_DIR (or INCUS_DNS_STATE_FILE) as the server has it' }
  const keys = new KeyStore(dir, config.dnssecAlgorithm)
  const zones = zone === null ? keys.zones() : [zone.replace(/\.$/, '').toLowerCase()]
  const lines: string[] = []
  for (const z of zones) {
    let active
    try { active = activeKeys(keys.keysOf(z), Math.floor(Date.now() / 1000)) } catch (err) { return { lines, problem: (err as Error).message } }
    if (active.length === 0) return { lines, problem: `no active key for ${z} in ${dir}; incus-dns makes one when it first serves the zone with INCUS_DNS_DNSSEC=on` }
    for (const k of active) lines.push(dsLine(z, k))
  }
  if (lines.length === 0) return { lines, problem: `no keys in ${dir}; incus-dns makes them when it first serves a zone with INCUS_DNS_DNSSEC=on` }
  return { lines, problem: null }
}
