/**
 * Names belong to their projects (name-rules.ts), applied where records are settled (records.ts): what a
 * hostile tenant's keys ask for (a zone apex, a wildcard, a reverse name, another project's name, a zone file's
 * name) is refused, reported once, and never reaches the zone; the rest of the instance still publishes.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import type { Instance } from '../../../src/incus/api/types.ts'
import { mapInstance } from '../../../src/incus/naming/map.ts'
import type { Mapped } from '../../../src/incus/naming/map.ts'
import { NameRules, parseProjectNames } from '../../../src/incus/naming/name-rules.ts'
import type { ProjectNames, Refusal } from '../../../src/incus/naming/name-rules.ts'
import { InstanceRecords } from '../../../src/incus/naming/records.ts'
import { ZoneStore } from '../../../src/zone/store.ts'
import type { Name, Rec } from '../../../src/zone/types.ts'
import { ask } from '../../helpers/ask.ts'
import { edited, instance } from '../../helpers/fixtures.ts'

const S = 'incus.example.org'
const REVERSE = '0.42.10.in-addr.arpa'
const soa = (apex: Name): Rec => ({ name: apex, ttl: 30, data: { type: 'SOA', mname: `ns.${S}`, rname: `hostmaster.${S}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 30 } })

/** default/web from the fixtures, moved to `project` as `name`, with `config` added, at `ipv4`. */
function inst(key: string, config: Record<string, string> = {}, ipv4 = '10.42.0.15'): Instance {
  const [project, name] = key.split('/') as [string, string]
  return edited(instance('default/web'), (i) => {
    i.project = project
    i.name = name
    Object.assign(i.expanded_config, config)
    i.state.network.eth0.addresses = [{ family: 'inet', address: ipv4, netmask: '24', scope: 'global' }]
  })
}

describe('name rules', () => {
  let store: ZoneStore
  let refusals: Refusal[]
  let records: InstanceRecords
  const setup = (projects: ProjectNames = new Map(), suffix: string | null = S): void => {
    records = new InstanceRecords(
      { ttl: 30, targetMode: 'guest-ip', cnameTarget: null, rules: new NameRules(projects, new Map([['', suffix]])) },
      { conflict: () => {}, rejected: () => {}, refused: (r) => refusals.push(r) },
    )
    records.setReverseZones([REVERSE])
  }
  const map = (i: Instance, suffix: string | null = S): Mapped => mapInstance(i, { suffix, states: new Set(['running']) })
  const apply = (...list: (Instance | [string, null])[]): void => {
    records.apply(store, new Map(list.map((x): [string, Mapped | null] => (Array.isArray(x) ? x : [`${x.project}/${x.name}`, map(x)]))))
  }
  const rcode = (name: string, type = 'A'): number => ask(store.table, name, type).rcode
  const answer = (name: string, type = 'A'): string[] => ask(store.table, name, type).answer

  beforeEach(() => {
    refusals = []
    store = new ZoneStore()
    store.setOwner('incus', S, [soa(S), { name: S, ttl: 30, data: { type: 'NS', target: `ns.${S}` } }])
    store.setOwner('incus', REVERSE, [soa(REVERSE)])
    // A zone file's zone, with a name of its own.
    store.setOwner('file', 'example.org', [soa('example.org')])
    store.setOwner('file', 'www.example.org', [{ name: 'www.example.org', ttl: 300, data: { type: 'A', address: '192.0.2.80' } }])
    setup()
  })

  it("a tenant's hostname at the suffix apex is refused: the zone keeps its SOA and NS, every name answers, the instance keeps its own name", () => {
    apply(inst('default/db', {}, '10.42.0.9'), inst('tenant/web', { 'user.dns.hostname': `${S}.` }))
    expect(answer(S, 'SOA')).toHaveLength(1)
    expect(answer(`db.${S}`)).toEqual([`db.${S}. 30 IN A 10.42.0.9`])
    expect(answer(`web.tenant.${S}`)).toEqual([`web.tenant.${S}. 30 IN A 10.42.0.15`])
    expect(rcode(`nothere.${S}`)).toBe(3)
    // Its PTR names its own name, not the apex.
    expect(answer(`15.${REVERSE}`, 'PTR')).toEqual([`15.${REVERSE}. 30 IN PTR web.tenant.${S}.`])
    expect(refusals).toEqual([expect.objectContaining({ instance: 'tenant/web', key: 'user.dns.hostname', name: S, reason: 'apex' })])
    expect(refusals[0]?.fix).not.toBe('')
    // Gone: nothing lingers, and the apex is still the zone's.
    apply(['tenant/web', null])
    expect(answer(S, 'SOA')).toHaveLength(1)
    expect(rcode(`web.tenant.${S}`)).toBe(3)
    expect(records.refusals()).toEqual([])
  })

  it('the apex through an alias or a service, and a reverse zone apex, are refused the same way', () => {
    apply(inst('tenant/a', { 'user.dns.aliases': S }), inst('tenant/b', { 'user.dns.service': `${REVERSE}.` }, '10.42.0.16'))
    expect(answer(S, 'SOA')).toHaveLength(1)
    expect(answer(REVERSE, 'SOA')).toHaveLength(1)
    expect(refusals.map((r) => [r.instance, r.key, r.reason])).toEqual([['tenant/a', 'user.dns.aliases', 'apex'], ['tenant/b', 'user.dns.service', 'apex']])
  })

  it('a wildcard alias is refused (typos stay NXDOMAIN); user.dns.wildcard on the own name stays', () => {
    apply(inst('tenant/web', { 'user.dns.aliases': `*.${S}.,www` }), inst('default/ingress', { 'user.dns.wildcard': 'true' }, '10.42.0.20'))
    expect(rcode(`typo.${S}`)).toBe(3)
    expect(answer(`www.tenant.${S}`)).toEqual([`www.tenant.${S}. 30 IN CNAME web.tenant.${S}.`, `web.tenant.${S}. 30 IN A 10.42.0.15`])
    expect(answer(`app1.ingress.${S}`)).toEqual([`app1.ingress.${S}. 30 IN A 10.42.0.20`])
    expect(refusals.map((r) => [r.name, r.reason])).toEqual([[`*.${S}`, 'wildcard']])
  })

  it("a service named in a reverse zone cannot take another project's PTR", () => {
    apply(inst('default/db', {}, '10.42.0.5'), inst('tenant/evil', { 'user.dns.service': `5.${REVERSE}.` }, '10.42.0.6'))
    expect(answer(`5.${REVERSE}`, 'PTR')).toEqual([`5.${REVERSE}. 30 IN PTR db.${S}.`])
    expect(answer(`5.${REVERSE}`, 'A')).toEqual([])
    expect(refusals.map((r) => [r.name, r.reason])).toEqual([[`5.${REVERSE}`, 'reverse']])
  })

  it("by default another project claims only at or below <project>.<suffix>; default claims in any zone served, but not a zone file's name", () => {
    apply(
      inst('tenant/web', { 'user.dns.aliases': `shop.${S}.,tenant.${S}.,deep.www.tenant.${S}.` }),
      inst('default/app', { 'user.dns.aliases': 'www.example.org.,blog.example.org.,elsewhere.example.net.' }, '10.42.0.30'),
    )
    expect(rcode(`shop.${S}`)).toBe(3)
    expect(answer(`tenant.${S}`)[0]).toBe(`tenant.${S}. 30 IN CNAME web.tenant.${S}.`)
    expect(answer(`deep.www.tenant.${S}`)[0]).toBe(`deep.www.tenant.${S}. 30 IN CNAME web.tenant.${S}.`)
    expect(answer('www.example.org')).toEqual(['www.example.org. 300 IN A 192.0.2.80'])
    expect(answer('blog.example.org')[0]).toBe(`blog.example.org. 30 IN CNAME app.${S}.`)
    expect(refusals.map((r) => [r.instance, r.name, r.reason])).toEqual([
      ['tenant/web', `shop.${S}`, 'project'],
      ['default/app', 'www.example.org', 'zone-file'],
      ['default/app', 'elsewhere.example.net', 'no-zone'],
    ])
    expect(refusals[0]?.fix).toBe(`claim a name under tenant.${S}, or let the project have it: INCUS_DNS_PROJECT_NAMES=tenant=shop.${S}`)
  })

  it('INCUS_DNS_PROJECT_NAMES widens and narrows: exact names, *.<name> strictly below, * for any', () => {
    setup(parseProjectNames('tenant=shop.example.org|*.tenant.example.org, default=*.apps.incus.example.org, ops=*'))
    apply(
      inst('tenant/web', { 'user.dns.aliases': 'shop.example.org.,a.b.tenant.example.org.,tenant.example.org.,blog.example.org.' }),
      inst('default/app', { 'user.dns.aliases': `x.apps.${S}.,other.${S}.` }, '10.42.0.30'),
      inst('ops/mon', { 'user.dns.aliases': 'mon.example.org.' }, '10.42.0.31'),
    )
    store.setOwner('file', 'tenant.example.org', [soa('tenant.example.org')])
    records.apply(store, new Map(records.instances)) // a zone file reload: settled again
    expect(answer('shop.example.org')[0]).toBe(`shop.example.org. 30 IN CNAME web.tenant.${S}.`)
    expect(answer('a.b.tenant.example.org')[0]).toBe(`a.b.tenant.example.org. 30 IN CNAME web.tenant.${S}.`)
    expect(answer(`x.apps.${S}`)[0]).toBe(`x.apps.${S}. 30 IN CNAME app.${S}.`)
    expect(answer('mon.example.org')[0]).toBe(`mon.example.org. 30 IN CNAME mon.ops.${S}.`)
    expect(records.refusals().map((r) => [r.instance, r.name, r.reason])).toEqual([
      ['default/app', `other.${S}`, 'project'],
      ['tenant/web', 'blog.example.org', 'project'],
      ['tenant/web', 'tenant.example.org', 'apex'], // a zone file made it an apex since
    ])
    // The instance's own name is its own whatever the patterns say.
    expect(answer(`web.tenant.${S}`)).toEqual([`web.tenant.${S}. 30 IN A 10.42.0.15`])
  })

  it("an instance's own name beats a hostname key another project was allowed to claim", () => {
    setup(parseProjectNames('ops=*'))
    apply(inst('ops/grab', { 'user.dns.hostname': `web.tenant.${S}.` }, '10.42.0.40'), inst('tenant/web'))
    expect(answer(`web.tenant.${S}`)).toEqual([`web.tenant.${S}. 30 IN A 10.42.0.15`])
    expect(records.hostnameWinner(`web.tenant.${S}`)).toBe('tenant/web')
  })

  it('a refused hostname without a suffix to fall back to publishes nothing, and says why', () => {
    setup(new Map(), null)
    apply(inst('tenant/web', { 'user.dns.hostname': 'web.example.org.' }))
    expect(rcode('web.example.org')).toBe(3)
    expect(records.settled('tenant/web')?.skipped).toMatch(/^refused: user.dns.hostname=web.example.org: project 'tenant' may claim names only under/)
  })

  it('each refusal is reported once, until the key changes or the instance goes; SRV at a zone file name is refused too', () => {
    const evil = inst('tenant/web', { 'user.dns.aliases': `shop.${S}.` })
    apply(evil)
    apply(evil)
    apply(inst('tenant/web', { 'user.dns.aliases': `shop.${S}.`, 'user.dns.srv.http': 'tcp/80' }))
    expect(refusals).toHaveLength(1)
    apply(inst('tenant/web', { 'user.dns.aliases': `shop2.${S}.` }))
    expect(refusals.map((r) => r.name)).toEqual([`shop.${S}`, `shop2.${S}`])
    store.setOwner('file', `_http._tcp.app.${S}`, [{ name: `_http._tcp.app.${S}`, ttl: 60, data: { type: 'TXT', strings: ['x'] } } as unknown as Rec])
    apply(inst('default/app', { 'user.dns.srv.http': 'tcp/80', 'user.dns.srv.ssh': 'tcp/22' }, '10.42.0.30'))
    expect(refusals.at(-1)).toEqual(expect.objectContaining({ key: 'user.dns.srv.http', name: `_http._tcp.app.${S}`, reason: 'zone-file' }))
    expect(answer(`_ssh._tcp.app.${S}`, 'SRV')).toEqual([`_ssh._tcp.app.${S}. 30 IN SRV 0 1 22 app.${S}.`])
  })

  it('a state file from before the rules (no keys recorded) replays through them', () => {
    const old: Mapped = { key: 'tenant/web', project: 'tenant', name: 'web', hostname: S, aliases: [`*.${S}`], ipv4: '10.42.0.15', ipv6: null, skipped: null, awaitingAddress: false }
    records.apply(store, new Map([['tenant/web', old]]))
    expect(answer(S, 'SOA')).toHaveLength(1)
    expect(rcode(`typo.${S}`)).toBe(3)
    expect(refusals.map((r) => [r.key, r.reason])).toEqual([['user.dns.hostname', 'apex'], ['user.dns.aliases', 'wildcard']])
  })
})

describe('parseProjectNames', () => {
  it.each([
    ['tenant', /is not <project>=<pattern>/],
    ['=x.org', /is not <project>=<pattern>/],
    ['a=x.org,a=y.org', /names project 'a' twice/],
    ['a=x.org|', /has an empty pattern/],
    ['a=x..org', /'x..org' is not a name/],
    ['a=x.*.org', /is not a name/],
  ])('%s is refused', (raw, message) => {
    expect(() => parseProjectNames(raw)).toThrow(message)
  })

  it('reads patterns, lowercased', () => {
    expect(parseProjectNames('Tenant=*.Tenant.Example.org|shop.example.org.,ops=*')).toEqual(new Map([
      ['Tenant', [{ below: 'tenant.example.org' }, { exact: 'shop.example.org' }]], ['ops', ['any']],
    ]))
  })
})
