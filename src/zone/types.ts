/**
 * @module zone/types
 * The zone model as plain data. Wire bytes exist only in the compiled answer table (zone/table.ts).
 */

/** A domain name: lowercase ASCII, labels joined by '.', no trailing dot. The root is ''. */
export type Name = string

export const RecordType = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33,
} as const
export type TypeName = keyof typeof RecordType
export const TYPE_NAMES = Object.keys(RecordType) as TypeName[]

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

export interface Rec {
  readonly name: Name
  readonly ttl: number
  readonly data: Rdata
}

/** Who published a record. Zone files win over live sources for the same name and type. */
export type SourceId = 'file' | 'incus'
export const SOURCE_PRECEDENCE: readonly SourceId[] = ['file', 'incus']
