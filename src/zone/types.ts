/**
 * @module zone/types
 * The zone model as plain data. Wire bytes exist only in the compiled answer table (zone/table.ts).
 */

/** A domain name: lowercase ASCII, labels joined by '.', no trailing dot. The root is ''. */
export type Name = string

export const RecordType = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, HINFO: 13, MX: 15, TXT: 16, RP: 17, AAAA: 28, LOC: 29, SRV: 33,
  NAPTR: 35, DNAME: 39, DS: 43, SSHFP: 44, RRSIG: 46, NSEC: 47, DNSKEY: 48, TLSA: 52, CDS: 59, CDNSKEY: 60,
  SVCB: 64, HTTPS: 65, URI: 256, CAA: 257,
} as const

export type KnownType = keyof typeof RecordType
/** A type by its mnemonic, or any other as `TYPEnnn` (RFC 3597 5). */
export type TypeName = KnownType | `TYPE${number}`
export const TYPE_NAMES = Object.keys(RecordType) as KnownType[]
/** The types the model holds as fields; every other one is kept as its RDATA bytes (`Opaque`). */
export type StructuredType = 'A' | 'AAAA' | 'CNAME' | 'NS' | 'PTR' | 'MX' | 'TXT' | 'SRV' | 'SOA'
export type OpaqueType = Exclude<TypeName, StructuredType>

/** The numeric type of a TypeName. */
export function typeCode(type: TypeName): number {
  const known = (RecordType as Record<string, number>)[type]
  return known !== undefined ? known : Number(type.slice(4))
}

/** The TypeName of a numeric type: its mnemonic where we have one, else `TYPEnnn`. */
export function typeName(code: number): TypeName {
  return TYPE_NAMES.find((t) => RecordType[t] === code) ?? `TYPE${code}`
}

export interface SoaData {
  readonly mname: Name
  readonly rname: Name
  readonly serial: number
  readonly refresh: number
  readonly retry: number
  readonly expire: number
  readonly minimum: number
}

export type Rdata =
  | { readonly type: 'A' | 'AAAA'; readonly address: string }
  | { readonly type: 'CNAME' | 'NS' | 'PTR'; readonly target: Name }
  | { readonly type: 'MX'; readonly preference: number; readonly exchange: Name }
  | { readonly type: 'TXT'; readonly strings: readonly string[] }
  | { readonly type: 'SRV'; readonly priority: number; readonly weight: number; readonly port: number; readonly target: Name }
  | ({ readonly type: 'SOA' } & SoaData)
  /** Parsed from presentation form when the zone file was read; served as these bytes (lowercase hex). */
  | { readonly type: OpaqueType; readonly hex: string }

export interface Rec {
  readonly name: Name
  readonly ttl: number
  readonly data: Rdata
}

/**
 * Who published a record: a zone file, the catalog zone (zone/catalog.ts), a dynamic update (RFC 2136), or
 * Incus. Per name and type, in that order, the first wins (zone/precedence.ts).
 */
export type SourceId = 'file' | 'catalog' | 'update' | 'incus'
export const SOURCE_PRECEDENCE: readonly SourceId[] = ['file', 'catalog', 'update', 'incus']
