/**
 * @module dnssec/keys
 * A zone's signing key: one combined signing key (CSK, flags 257) per zone, ECDSA P-256 with SHA-256
 * (algorithm 13, RFC 6605) or Ed25519 (algorithm 15, RFC 8080), through node:crypto. Its DNSKEY rdata and key
 * tag (RFC 4034 B), the DS a parent holds (digest type 2, SHA-256, RFC 4509), and the key kept on disk in
 * BIND's key file format (`K<zone>.+<alg>+<tag>.key` and `.private`), which dnssec-signzone, BIND and Knot's
 * `keymgr import-bind` read too.
 */
import { createECDH, createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { wireName } from '../zone/wire-name.ts'
import type { Name } from '../zone/types.ts'

export type DnssecAlgorithm = 'ecdsap256sha256' | 'ed25519'
export const ALGORITHMS: readonly DnssecAlgorithm[] = ['ecdsap256sha256', 'ed25519']
/** The algorithm numbers of the DNSKEY, RRSIG and DS records (IANA DNSSEC algorithm numbers). */
export const ALGORITHM_NUMBER: Readonly<Record<DnssecAlgorithm, number>> = { ecdsap256sha256: 13, ed25519: 15 }
const BIND_NAME: Readonly<Record<DnssecAlgorithm, string>> = { ecdsap256sha256: 'ECDSAP256SHA256', ed25519: 'ED25519' }

/** A combined signing key: signs the DNSKEY RRset and every other RRset of its zone. */
export const CSK_FLAGS = 257

export interface SigningKey {
  readonly zone: Name
  readonly algorithm: DnssecAlgorithm
  /** The private key as node:crypto signs with it. */
  readonly privateKey: KeyObject
  /** The DNSKEY rdata: flags, protocol 3, algorithm, public key. */
  readonly dnskey: Buffer
  readonly keyTag: number
  /** The private key's bytes as BIND's key file holds them (the P-256 scalar, or the Ed25519 seed). */
  readonly secret: Buffer
}

/** A new key for `zone`. */
export function generateKey(zone: Name, algorithm: DnssecAlgorithm): SigningKey {
  const pair = algorithm === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const jwk = pair.privateKey.export({ format: 'jwk' })
  return keyFromSecret(zone, algorithm, Buffer.from(jwk.d as string, 'base64url'))
}

/** The key whose private bytes are `secret` (as BIND's `PrivateKey:` field has them). */
export function keyFromSecret(zone: Name, algorithm: DnssecAlgorithm, secret: Buffer): SigningKey {
  let publicKey: Buffer
  let privateKey: KeyObject
  if (algorithm === 'ed25519') {
    if (secret.length !== 32) throw new Error(`an Ed25519 private key is 32 bytes, not ${secret.length}`)
    // PKCS#8 for Ed25519 (RFC 8410): a fixed prefix, then the 32-byte seed.
    privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), secret]), format: 'der', type: 'pkcs8' })
    publicKey = Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x as string, 'base64url')
  } else {
    if (secret.length !== 32) throw new Error(`a P-256 private key is 32 bytes, not ${secret.length}`)
    const ecdh = createECDH('prime256v1')
    ecdh.setPrivateKey(secret)
    const point = ecdh.getPublicKey() // 0x04, x, y
    publicKey = point.subarray(1)
    privateKey = createPrivateKey({ key: { kty: 'EC', crv: 'P-256', d: secret.toString('base64url'), x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') }, format: 'jwk' })
  }
  const dnskey = dnskeyRdata(CSK_FLAGS, ALGORITHM_NUMBER[algorithm], publicKey)
  return { zone, algorithm, privateKey, dnskey, keyTag: keyTag(dnskey), secret }
}

export function dnskeyRdata(flags: number, algorithm: number, publicKey: Uint8Array): Buffer {
  const out = Buffer.alloc(4 + publicKey.length)
  out.writeUInt16BE(flags, 0)
  out[2] = 3 // protocol (RFC 4034 2.1.2)
  out[3] = algorithm
  out.set(publicKey, 4)
  return out
}

/** The key tag of a DNSKEY rdata (RFC 4034 Appendix B, every algorithm but 1). */
export function keyTag(dnskey: Uint8Array): number {
  let sum = 0
  for (let i = 0; i < dnskey.length; i++) sum += (i & 1) === 0 ? (dnskey[i] as number) << 8 : (dnskey[i] as number)
  sum += (sum >>> 16) & 0xffff
  return sum & 0xffff
}

/** The DS rdata for a DNSKEY of `zone`: key tag, algorithm, digest type 2, SHA-256(owner | DNSKEY rdata). */
export function dsRdata(zone: Name, dnskey: Buffer): Buffer {
  const digest = createHash('sha256').update(wireName(zone)).update(dnskey).digest()
  const out = Buffer.alloc(4 + digest.length)
  out.writeUInt16BE(keyTag(dnskey), 0)
  out[2] = dnskey[3] as number
  out[3] = 2
  out.set(digest, 4)
  return out
}

/** The base name of BIND's key files for `key`: `K<zone>.+<alg>+<tag>` (the tag zero-padded to 5 digits). */
export function keyFileBase(key: SigningKey): string {
  return `K${key.zone}.+${String(ALGORITHM_NUMBER[key.algorithm]).padStart(3, '0')}+${String(key.keyTag).padStart(5, '0')}`
}

/** BIND's `.key` and `.private` files for `key` (the private one must be written mode 0600). */
export function keyFiles(key: SigningKey, created: Date): { readonly key: string; readonly private: string } {
  const stamp = created.toISOString().replace(/[-:T]/g, '').slice(0, 14)
  const num = ALGORITHM_NUMBER[key.algorithm]
  return {
    key: `; This is a combined signing key (CSK), keyid ${key.keyTag}, for ${key.zone}.\n${key.zone}. IN DNSKEY ${CSK_FLAGS} 3 ${num} ${key.dnskey.subarray(4).toString('base64')}\n`,
    private: `Private-key-format: v1.3\nAlgorithm: ${num} (${BIND_NAME[key.algorithm]})\nPrivateKey: ${key.secret.toString('base64')}\nCreated: ${stamp}\nPublish: ${stamp}\nActivate: ${stamp}\n`,
  }
}

/** Reads BIND's `.private` file: the algorithm and private bytes; throws with what is wrong. */
export function parsePrivateKeyFile(text: string): { readonly algorithm: DnssecAlgorithm; readonly secret: Buffer } {
  const field = (name: string): string | undefined => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim()
  const number = Number(/^(\d+)/.exec(field('Algorithm') ?? '')?.[1])
  const algorithm = ALGORITHMS.find((a) => ALGORITHM_NUMBER[a] === number)
  if (algorithm === undefined) throw new Error(`Algorithm: ${field('Algorithm') ?? '(none)'} is not one incus-dns signs with (13 ECDSAP256SHA256, 15 ED25519)`)
  let secret = Buffer.from(field('PrivateKey') ?? '', 'base64')
  // BIND writes a P-256 scalar as a number: one with leading zero bytes comes shorter (1 key in 256).
  if (algorithm === 'ecdsap256sha256' && secret.length > 0 && secret.length < 32) secret = Buffer.concat([Buffer.alloc(32 - secret.length), secret])
  if (secret.length !== 32) throw new Error('PrivateKey: is not 32 bytes of base64')
  return { algorithm, secret }
}
