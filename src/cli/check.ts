/**
 * @module cli/check
 * `incus-dns check`: the settings and the zones folder checked without serving, as named-checkzone and
 * kzonecheck check zones. Each zone file is parsed on its own, so every broken file is named and not only
 * the first; the good ones are then loaded together into a store, as start-up would load them (one zone
 * defined twice, a CNAME beside other data...). The Incus settings are resolved, their files read, and
 * nothing is asked of Incus. One line per zone when all is good; one line per problem, with its file:line
 * and the fix, when not.
 */
import { incusConnection } from '../config/incus.ts'
import { incusRemotes } from '../config/remotes.ts'
import type { Config } from '../config/settings.ts'
import { ConfigErrors, IncusDnsError } from '../errors.ts'
import { readZoneFiles, ZoneFileSource } from '../zone/file/source.ts'
import type { ParsedZone } from '../zone/file/parse.ts'
import { ZoneStore } from '../zone/store.ts'

export interface CheckResult {
  /** One line per zone (apex, serial, records, file), when it loaded. */
  readonly zones: string[]
  /** One line per problem. */
  readonly problems: string[]
}

export async function check(config: Config, env: NodeJS.ProcessEnv = process.env): Promise<CheckResult> {
  const problems: string[] = []
  // The Incus side as start-up resolves it: certificate files, the incus client's configuration.
  try {
    if (config.incusRemotes.length > 0) incusRemotes(config, env)
    else incusConnection(config)
  } catch (err) {
    if (!(err instanceof ConfigErrors)) throw err
    problems.push(...err.problems.map((p) => p.message))
  }
  let parsed: ParsedZone[]
  try {
    const read = await readZoneFiles(config.zonesDir)
    parsed = read.zones
    problems.push(...read.problems.map((p) => p.message))
  } catch (err) {
    // The folder itself (a file in it that cannot be read is not this, and is thrown as before).
    if ((err as NodeJS.ErrnoException).path !== config.zonesDir) throw err
    const code = (err as NodeJS.ErrnoException).code ?? ''
    problems.push(`INCUS_DNS_ZONES_DIR (--zones-dir): '${config.zonesDir}' is not a folder (${code}); create it or point the setting at your zone files`)
    return { zones: [], problems }
  }
  // Together, as start-up loads them: what only shows across records (data beside a CNAME, say).
  const store = new ZoneStore({ journalSize: 0 })
  try {
    new ZoneFileSource().apply(store, parsed)
  } catch (err) {
    if (!(err instanceof IncusDnsError)) throw err
    problems.push(err.message)
  }
  const zones = parsed.map((z) => {
    const soa = z.records.find((r) => r.data.type === 'SOA')
    const serial = soa !== undefined && soa.data.type === 'SOA' ? soa.data.serial : 0
    return `zone ${z.apex}: serial ${serial}, ${z.records.length} records (${z.file})`
  })
  return { zones, problems }
}
