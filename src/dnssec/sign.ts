/**
 * @module dnssec/sign
 * RRSIGs (RFC 4034 3, RFC 4035 2.2): an RRset in canonical form (RFC 4034 6: owner and names in rdata
 * lowercase and uncompressed, records in rdata order, each once, all with the original TTL), the RRSIG rdata
 * before its signature, and the signature over both: ECDSA P-256 as r | s (RFC 6605 4), Ed25519 as RFC 8080
 * has it. Pure, apart from the key's randomness (ECDSA); throws only on an RRset that is not one.
 */
import { sign } from 'node:crypto'
import { WireWriter } from '../zone/writer.ts'
import { typeCode } from '../zone/types.ts'
import type { Name, Rec } from '../zone/types.ts'
import { wireName } from '../zone/wire-name.ts'
import { ALGORITHM_NUMBER } from './keys.ts'
import type { SigningKey } from './keys.ts'

const CLASS_IN = 1

/** When a signature holds: seconds since the epoch (RFC 4034 3.1.5 serial arithmetic is for the reader). */
export interface Validity {
  readonly inception: number
  readonly expiration: number
}

/** The rdata of a record in canonical form (names in it lowercase and whole, as the store keeps them). */
export function canonicalRdata(rec: Rec): Buffer {
  const w = new WireWriter(0, null, true) // called while a body is being written with the shared scratch
  w.rdata(rec)
  return w.finish()
}

/** Labels of an owner for the RRSIG's Labels field: the root is 0, a leading `*` does not count (RFC 4034 3.1.3). */
export function labelCount(owner: Name): number {
  if (owner === '') return 0
  const labels = owner.split('.')
  return labels[0] === '*' ? labels.length - 1 : labels.length
}

/** The RRSIG rdata up to its signature: what is signed first, and the head of the record. */
function rrsigHead(owner: Name, type: number, ttl: number, key: SigningKey, validity: Validity): Buffer {
  const signer = wireName(key.zone)
  const head = Buffer.alloc(18 + signer.length)
  head.writeUInt16BE(type, 0)
  head[2] = ALGORITHM_NUMBER[key.algorithm]
  head[3] = labelCount(owner)
  head.writeUInt32BE(ttl >>> 0, 4)
  head.writeUInt32BE(validity.expiration >>> 0, 8)
  head.writeUInt32BE(validity.inception >>> 0, 12)
  head.writeUInt16BE(key.keyTag, 16)
  signer.copy(head, 18)
  return head
}

/**
 * The RRset's records in canonical form, sorted and each once: what an RRSIG covers after its own head.
 * `ttl` is the original TTL (the RRset's, RFC 4034 3.1.4).
 */
export function canonicalRRset(owner: Name, type: number, ttl: number, rdatas: readonly Buffer[]): Buffer {
  const sorted = [...rdatas].sort(Buffer.compare).filter((r, i, all) => i === 0 || !r.equals(all[i - 1] as Buffer))
  const name = wireName(owner)
  const parts: Buffer[] = []
  for (const rdata of sorted) {
    const fixed = Buffer.alloc(10)
    fixed.writeUInt16BE(type, 0)
    fixed.writeUInt16BE(CLASS_IN, 2)
    fixed.writeUInt32BE(ttl >>> 0, 4)
    fixed.writeUInt16BE(rdata.length, 8)
    parts.push(name, fixed, rdata)
  }
  return Buffer.concat(parts)
}

/** Signs `data` with `key`: 64 bytes for both algorithms. */
export function signature(key: SigningKey, data: Buffer): Buffer {
  return key.algorithm === 'ed25519' ? sign(null, data, key.privateKey) : sign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
}

/**
 * The RRSIG over one RRset (every record of one owner and type; `ttl` the TTL it is served with), as a record
 * of the zone model. `owner` may differ from the records' names for a wildcard's expansion: sign with the
 * wildcard's own name, and a resolver expands it (RFC 4035 5.3.2).
 */
export function signRRset(rrset: readonly Rec[], ttl: number, key: SigningKey, validity: Validity, owner: Name = (rrset[0] as Rec).name): Rec {
  const first = rrset[0]
  if (first === undefined) throw new Error('an empty RRset has no signature')
  const type = first.data.type
  if (rrset.some((r) => r.data.type !== type || r.name !== first.name)) throw new Error(`not one RRset: ${first.name} ${type}`)
  const { head, data } = signedData(rrset, ttl, key, validity, owner)
  return { name: owner, ttl, data: { type: 'RRSIG', hex: Buffer.concat([head, signature(key, data)]).toString('hex') } }
}

/** What an RRSIG over `rrset` signs (its head, then the RRset in canonical form), and the head alone. */
export function signedData(rrset: readonly Rec[], ttl: number, key: SigningKey, validity: Validity, owner: Name = (rrset[0] as Rec).name): { head: Buffer; data: Buffer } {
  const code = typeCode((rrset[0] as Rec).data.type)
  const head = rrsigHead(owner, code, ttl, key, validity)
  return { head, data: Buffer.concat([head, canonicalRRset(owner, code, ttl, rrset.map(canonicalRdata))]) }
}
