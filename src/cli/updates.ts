/**
 * @module cli/updates
 * Dynamic UPDATE from the settings: the update keys and their grants, the records updates made (written to
 * every view, kept in INCUS_DNS_UPDATE_FILE or beside the state file), and the updater that answers UPDATEs.
 * Nothing without INCUS_DNS_UPDATE_KEYS: an UPDATE is NOTIMP then.
 */
import type { Config } from '../config/settings.ts'
import type { TsigKey } from '../dns/tsig.ts'
import type { Logger } from '../log.ts'
import { DynamicRecords } from '../update/dynamic.ts'
import { Grants } from '../update/grants.ts'
import { Updater } from '../update/updater.ts'
import type { ZoneStore } from '../zone/store.ts'
import type { ZoneWriter } from '../zone/zone-writer.ts'

export interface Updates {
  readonly updater: Updater
  readonly dynamic: DynamicRecords
  readonly file: string | null
}

/**
 * The updater; null without update keys. The records kept from before are put back by `dynamic.load()`, once
 * the zones they are in are served (the Incus suffix zone is made when its source is).
 */
export function makeUpdates(config: Config, store: ZoneStore, writer: ZoneWriter, log: Logger): Updates | null {
  if (config.updateKeys.length === 0) return null
  const file = config.updateFile ?? (config.stateFile === null ? null : `${config.stateFile}.updates`)
  const ulog = log.child({ mod: 'update' })
  const dynamic = new DynamicRecords({ zone: writer, log: ulog, file, challengeLifetimeMs: config.updateChallengeLifetime })
  const grants = new Grants(config.updateKeys.map((k) => k.name), config.updateGrants)
  const updater = new Updater({ store, dynamic, keys: new Map(config.updateKeys.map((k): [string, TsigKey] => [k.name, k])), grants, maxTtl: config.updateMaxTtl, log: ulog })
  log.info({ keys: config.updateKeys.map((k) => ({ key: k.name, algorithm: k.algorithm, may: grants.describe(k.name) })), file }, 'dynamic updates (RFC 2136) with TSIG')
  if (file === null) log.warn('records made by dynamic updates are kept in memory only: set INCUS_DNS_STATE_FILE or INCUS_DNS_UPDATE_FILE to keep them across restarts')
  return { updater, dynamic, file }
}
