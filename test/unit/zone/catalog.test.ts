/**
 * The catalog zone (zone/catalog.ts, RFC 9432 version 2): its apex, version and one PTR with a group per
 * member zone, ids from the name alone (the same after a restart, and when a zone goes and comes back), no
 * catalog until start() (a partial one would make consumers purge zones), members following the store's zones
 * after the batch that changed them, and no instance name, no update, inside it.
 */
import pino from 'pino'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Instance } from '../../../src/incus/api/types.ts'
import { mapInstance } from '../../../src/incus/naming/map.ts'
import { NameRules } from '../../../src/incus/naming/name-rules.ts'
import type { Refusal } from '../../../src/incus/naming/name-rules.ts'
import { InstanceRecords } from '../../../src/incus/naming/records.ts'
import { Catalog, memberId } from '../../../src/zone/catalog.ts'
import { ZoneStore } from '../../../src/zone/store.ts'
import type { Name, Rec } from '../../../src/zone/types.ts'
import { ask } from '../../helpers/ask.ts'
import { edited, instance } from '../../helpers/fixtures.ts'

const CAT = 'catalog.incus-dns.invalid'
const S = 'incus.example.org'
const REVERSE = '0.42.10.in-addr.arpa'
const soa = (apex: Name, serial = 1): Rec => ({ name: apex, ttl: 30, data: { type: 'SOA', mname: `ns.${apex}`, rname: `hostmaster.${apex}`, serial, refresh: 3600, retry: 600, expire: 86400, minimum: 30 } })
const tick = (): Promise<void> => new Promise((r) => setImmediate(r))

describe('the catalog zone', () => {
  let store: ZoneStore
  let catalog: Catalog
  let changed: Name[]
  const answer = (name: string, type: string): string[] => ask(store.table, name, type).answer
  /** The catalog's PTRs as a transfer sends them: `<owner> <member>`. */
  const members = (): string[] => store.zoneRecords(CAT).flatMap((r) => (r.data.type === 'PTR' ? [`${r.name} ${r.data.target}`] : [])).sort()

  beforeEach(() => {
    changed = []
    store = new ZoneStore({ now: () => 1_800_000_000, onZonesChanged: () => catalog.zonesChanged(), onZoneChanged: (apex) => changed.push(apex) })
    catalog = new Catalog({ apex: CAT, store, writer: store, log: pino({ level: 'silent' }), now: () => 1_800_000_000 })
    store.setOwner('file', 'example.org', [soa('example.org')])
    store.setOwner('incus', S, [soa(S)])
    store.setOwner('incus', REVERSE, [soa(REVERSE)])
  })

  it('ids are 20 hex digits of the name alone: one label, the same for the same zone in any case', () => {
    expect(memberId('example.org')).toMatch(/^[0-9a-f]{20}$/)
    expect(memberId('Example.ORG')).toBe(memberId('example.org'))
    expect(memberId('example.org')).not.toBe(memberId('example.net'))
  })

  it('is not served before start(): a catalog lacking zones would make its consumers purge them', () => {
    expect(store.zones()).not.toContain(CAT)
    expect(ask(store.table, CAT, 'SOA').rcode).toBe(5)
  })

  it('lists every zone served, each with its group, and not itself (RFC 9432: version 2, SOA and NS invalid.)', () => {
    catalog.start()
    expect(answer(CAT, 'SOA')).toEqual([`${CAT}. 0 IN SOA invalid. invalid. 1800000000 3600 600 2147483646 0`])
    expect(answer(CAT, 'NS')).toEqual([`${CAT}. 0 IN NS invalid.`])
    expect(answer(`version.${CAT}`, 'TXT')).toEqual([`version.${CAT}. 0 IN TXT "2"`])
    expect(members()).toEqual([
      [`${memberId('example.org')}.zones.${CAT}`, 'example.org'],
      [`${memberId(S)}.zones.${CAT}`, S],
      [`${memberId(REVERSE)}.zones.${CAT}`, REVERSE],
    ].map(([o, z]) => `${o} ${z}`).sort())
    expect(answer(`${memberId('example.org')}.zones.${CAT}`, 'PTR')).toEqual([`${memberId('example.org')}.zones.${CAT}. 0 IN PTR example.org.`])
    expect(answer(`group.${memberId('example.org')}.zones.${CAT}`, 'TXT')).toEqual([`group.${memberId('example.org')}.zones.${CAT}. 0 IN TXT "file"`])
    expect(answer(`group.${memberId(S)}.zones.${CAT}`, 'TXT')).toEqual([`group.${memberId(S)}.zones.${CAT}. 0 IN TXT "incus"`])
    expect(answer(`group.${memberId(REVERSE)}.zones.${CAT}`, 'TXT')).toEqual([`group.${memberId(REVERSE)}.zones.${CAT}. 0 IN TXT "reverse"`])
    expect(catalog.members().map((m) => [m.zone, m.group])).toEqual([['0.42.10.in-addr.arpa', 'reverse'], ['example.org', 'file'], [S, 'incus']])
  })

  it('follows the zones right after the batch that changed them, with a serial bump the secondaries are told of', async () => {
    catalog.start()
    const serial = store.serial(CAT) as number
    changed = []
    store.setOwner('incus', '1.42.10.in-addr.arpa', [soa('1.42.10.in-addr.arpa')])
    await tick()
    expect(catalog.members().map((m) => m.zone)).toContain('1.42.10.in-addr.arpa')
    expect(answer(`${memberId('1.42.10.in-addr.arpa')}.zones.${CAT}`, 'PTR')).toEqual([`${memberId('1.42.10.in-addr.arpa')}.zones.${CAT}. 0 IN PTR 1.42.10.in-addr.arpa.`])
    expect(store.serial(CAT)).toBeGreaterThan(serial)
    expect(changed).toContain(CAT)
    // The journal has the change, for IXFR.
    expect(store.journal(CAT).at(-1)?.added.map((r) => r.name).sort()).toEqual([`${memberId('1.42.10.in-addr.arpa')}.zones.${CAT}`, `group.${memberId('1.42.10.in-addr.arpa')}.zones.${CAT}`].sort())
    // Gone, and back under the same id.
    store.removeOwner('incus', '1.42.10.in-addr.arpa')
    await tick()
    expect(ask(store.table, `${memberId('1.42.10.in-addr.arpa')}.zones.${CAT}`, 'PTR').rcode).toBe(3)
    expect(catalog.members().map((m) => m.zone)).not.toContain('1.42.10.in-addr.arpa')
    store.setOwner('incus', '1.42.10.in-addr.arpa', [soa('1.42.10.in-addr.arpa')])
    await tick()
    expect(catalog.members().find((m) => m.zone === '1.42.10.in-addr.arpa')?.id).toBe(memberId('1.42.10.in-addr.arpa'))
  })

  it('a zone file taking over a generated zone changes only its group', async () => {
    catalog.start()
    store.setOwner('file', S, [soa(S, 7)])
    await tick()
    expect(answer(`group.${memberId(S)}.zones.${CAT}`, 'TXT')).toEqual([`group.${memberId(S)}.zones.${CAT}. 0 IN TXT "file"`])
    expect(answer(`${memberId(S)}.zones.${CAT}`, 'PTR')).toHaveLength(1)
  })

  it('a restart lists the same members under the same ids: nothing for a consumer to purge or add', () => {
    catalog.start()
    const before = store.zoneRecords(CAT)
    const again = new ZoneStore()
    const second = new Catalog({ apex: CAT, store: again, writer: again, log: pino({ level: 'silent' }), now: () => 1_800_000_100 })
    again.setOwner('file', 'example.org', [soa('example.org')])
    again.setOwner('incus', S, [soa(S)])
    again.setOwner('incus', REVERSE, [soa(REVERSE)])
    second.start()
    expect(again.zoneRecords(CAT)).toEqual(before)
    expect(again.soa(CAT)?.data).toMatchObject({ serial: 1_800_000_100 }) // later, so a secondary takes it
  })

  it('no instance may claim a name in it (reason catalog), and the rest of the instance still publishes', () => {
    catalog.start()
    const refused: Refusal[] = []
    const records = new InstanceRecords({ ttl: 30, targetMode: 'guest-ip', cnameTarget: null, rules: new NameRules(new Map(), new Map([['', S]])) },
      { conflict: () => {}, rejected: () => {}, refused: (r) => refused.push(r) })
    const inst: Instance = edited(instance('default/web'), (i) => { Object.assign(i.expanded_config, { 'user.dns.aliases': `x.zones.${CAT}.` }) })
    records.apply(store, new Map([['default/web', mapInstance(inst, { suffix: S, states: new Set(['running']) })]]))
    expect(refused).toEqual([expect.objectContaining({ name: `x.zones.${CAT}`, reason: 'catalog' })])
    expect(ask(store.table, `x.zones.${CAT}`, 'A').rcode).toBe(3)
    expect(answer(`web.${S}`, 'A')).toHaveLength(1)
  })
})
