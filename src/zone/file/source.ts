/**
 * @module zone/file/source
 * Loads every `*.zone` file of a folder into the store as source 'file'. All files are parsed before
 * anything is applied, so a broken file changes nothing; a reload replaces only the owners that changed.
 */
import { readdir, readFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { IncusDnsError, ZoneFileError } from '../../errors.ts'
import { canonicalName } from '../name.ts'
import type { ZoneWriter } from '../zone-writer.ts'
import type { Name, Rec } from '../types.ts'
import { parseZoneFile } from './parse.ts'
import type { ParsedZone } from './parse.ts'

/** A zone file's text; a folder or an unreadable file named `*.zone` is a problem with the fix, not a crash. */
async function readZoneText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? ''
    throw new ZoneFileError(path, 1, code === 'EISDIR' ? 'is a folder, not a zone file; rename it so that its name does not end in .zone' : `cannot be read (${code}); check its permissions`)
  }
}

/** Reads and parses every `*.zone` file in `dir` (sorted by name). Throws ZoneFileError on the first problem. */
export async function readZoneDir(dir: string): Promise<ParsedZone[]> {
  const { zones, problems } = await readZoneFiles(dir)
  if (problems[0] !== undefined) throw problems[0]
  return zones
}

/**
 * Reads and parses every `*.zone` file in `dir` (sorted by name), each on its own: the zones that parsed, and
 * one problem per file that did not (`incus-dns check` names them all). A folder that cannot be read throws.
 */
export async function readZoneFiles(dir: string): Promise<{ zones: ParsedZone[]; problems: IncusDnsError[] }> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.zone')).sort()
  const zones: ParsedZone[] = []
  const problems: IncusDnsError[] = []
  const apexes = new Map<Name, string>()
  for (const f of files) {
    const path = join(dir, f)
    let zone: ParsedZone
    const inFile: ZoneFileError[] = []
    try {
      zone = parseZoneFile(path, await readZoneText(path), canonicalName(basename(f, '.zone')), { problems: inFile })
    } catch (err) {
      if (!(err instanceof IncusDnsError)) throw err
      // Every bad line of the file (and then what only the whole file shows, such as no SOA).
      problems.push(...inFile)
      if (!inFile.includes(err as ZoneFileError)) problems.push(err)
      continue
    }
    const other = apexes.get(zone.apex)
    if (other !== undefined) { problems.push(new ZoneFileError(path, 1, `zone ${zone.apex} is also defined in ${other}; keep one file per zone`)); continue }
    apexes.set(zone.apex, path)
    zones.push(zone)
  }
  return { zones, problems }
}

/** Publishes parsed zones as source 'file', removing what an earlier load published and this one does not. */
export class ZoneFileSource {
  apply(store: ZoneWriter, zones: readonly ParsedZone[]): void {
    // An owner's records, taken a run of lines at a time: arrays grown by push() kept room for 16 more,
    // ~15 MiB at 100k names that outlived the young generation and fragmented the heap.
    const owners = new Map<Name, Rec[]>()
    for (const zone of zones) {
      const recs = zone.records
      for (let start = 0; start < recs.length;) {
        const name = (recs[start] as Rec).name
        let end = start + 1
        while (end < recs.length && (recs[end] as Rec).name === name) end++
        const run = recs.slice(start, end)
        const earlier = owners.get(name)
        owners.set(name, earlier === undefined ? run : earlier.concat(run))
        start = end
      }
    }
    store.batch(() => {
      // Apexes first, so every other name finds its zone.
      const names = [...owners.keys()].sort((a, b) => a.split('.').length - b.split('.').length)
      for (const name of names) store.setOwner('file', name, owners.get(name) as Rec[])
      // What an earlier load published is read back from the store: a set of our own cost ~26 B per name.
      for (const name of store.namesOf('file')) if (!owners.has(name)) store.removeOwner('file', name)
    })
  }
}
