/**
 * @module update/grants
 * What each TSIG key may change by dynamic update, on Knot's update-owner model: a key is granted owner names
 * (by pattern) and record types there. Without grants of its own, a key may add and delete TXT records at
 * `_acme-challenge.<name>` for any name in a zone incus-dns serves (ACME DNS-01, RFC 8555 8.4), and nothing
 * else. INCUS_DNS_UPDATE_GRANTS=<key>:<owner pattern>:<TYPE>[/<TYPE>...][,...] replaces that for the keys it
 * names. In a pattern, a label `*` stands for one or more labels: `_acme-challenge.*` is the default,
 * `*.dyn.example.org` everything below `dyn.example.org`, `host.example.org` that name alone. `ANY` as a type
 * grants every type. Never, whatever a grant says: the SOA, or NS at a zone's apex (the zone's own).
 */
import { canonicalName } from '../zone/name.ts'
import { RecordType, typeName } from '../zone/types.ts'
import type { Name, TypeName } from '../zone/types.ts'

export interface Grant {
  readonly key: Name
  /** As written, for the log and the status page. */
  readonly pattern: string
  readonly owner: RegExp
  /** null: any type. */
  readonly types: ReadonlySet<TypeName> | null
}

/** The owners and type a key without grants of its own may update. */
export const DEFAULT_GRANT = { pattern: '_acme-challenge.*', types: ['TXT'] as const }

/** A pattern as a RegExp over lowercase names: `*` labels stand for one or more labels. */
export function ownerPattern(pattern: string): RegExp {
  const text = pattern.toLowerCase().replace(/\.$/, '')
  const labels = text.split('.')
  if (labels.some((l) => l === '')) throw new Error(`'${pattern}' has an empty label`)
  for (const l of labels) if (l !== '*') canonicalName(l) // throws with the reason
  const body = labels.map((l) => (l === '*' ? '[^.]+(?:\\.[^.]+)*' : l.replace(/[-/]/g, '\\$&'))).join('\\.')
  return new RegExp(`^${body}$`)
}

function parseType(t: string, entry: string): TypeName | 'ANY' {
  const u = t.trim().toUpperCase()
  if (u === 'ANY' || u === '*') return 'ANY'
  if (u in RecordType) return u as TypeName
  const m = /^TYPE(\d{1,5})$/.exec(u)
  if (m !== null && Number(m[1]) <= 65535) return typeName(Number(m[1]))
  throw new Error(`'${entry}': '${t}' is not a record type (TXT, A, AAAA, CNAME, ..., TYPEnnn, or ANY)`)
}

/** Parses INCUS_DNS_UPDATE_GRANTS; throws with the fix on a bad entry. Keys are checked against the keys later. */
export function parseGrants(raw: string): Grant[] {
  const out: Grant[] = []
  for (const entry of raw.split(',').map((e) => e.trim()).filter((e) => e !== '')) {
    const parts = entry.split(':')
    if (parts.length !== 3 || parts.some((p) => p.trim() === '')) {
      throw new Error(`'${entry}' is not <key>:<owner pattern>:<TYPE>[/<TYPE>...], e.g. acme-key:_acme-challenge.*.example.org:TXT`)
    }
    const [key, pattern, types] = parts.map((p) => p.trim()) as [string, string, string]
    let owner: RegExp
    try { owner = ownerPattern(pattern) } catch (err) { throw new Error(`'${entry}': the owner pattern ${(err as Error).message}`) }
    const list = types.split('/').map((t) => parseType(t, entry))
    out.push({ key: key.toLowerCase().replace(/\.$/, ''), pattern, owner, types: list.includes('ANY') ? null : new Set(list as TypeName[]) })
  }
  return out
}

export class Grants {
  readonly #byKey = new Map<Name, readonly Grant[]>()

  /** `keys`: every update key; one without a grant of its own gets the default. */
  constructor(keys: readonly Name[], grants: readonly Grant[]) {
    for (const g of grants) {
      if (!keys.includes(g.key)) throw new Error(`grants for key '${g.key}', which is not in INCUS_DNS_UPDATE_KEYS`)
    }
    for (const key of keys) {
      const own = grants.filter((g) => g.key === key)
      this.#byKey.set(key, own.length > 0 ? own : [{ key, pattern: DEFAULT_GRANT.pattern, owner: ownerPattern(DEFAULT_GRANT.pattern), types: new Set(DEFAULT_GRANT.types) }])
    }
  }

  /** Whether `key` may change records of `type` at `owner`; `apex` is the zone's. */
  allows(key: Name, owner: Name, type: TypeName, apex: Name): boolean {
    if (type === 'SOA' || (type === 'NS' && owner === apex)) return false
    return (this.#byKey.get(key) ?? []).some((g) => g.owner.test(owner) && (g.types === null || g.types.has(type)))
  }

  /** Whether `key` may change records of some type at `owner`. */
  allowsOwner(key: Name, owner: Name): boolean {
    return (this.#byKey.get(key) ?? []).some((g) => g.owner.test(owner))
  }

  /** What `key` may change, in words. */
  describe(key: Name): string {
    return (this.#byKey.get(key) ?? []).map((g) => `${g.pattern} ${g.types === null ? 'any type' : [...g.types].join('/')}`).join(', ')
  }
}
