/**
 * DNSSEC keys and signatures (zone/dnssec/) against BIND's own tools as the reference: a key BIND made reads
 * back with the same DNSKEY and key tag; our DS is dnssec-dsfromkey's; BIND's RRSIGs verify over our canonical
 * form of the same RRsets (ECDSA P-256), and Ed25519, deterministic, gives byte for byte BIND's signatures.
 */
import { execFileSync } from 'node:child_process'
import { verify } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { dsRdata, generateKey, keyFileBase, keyFiles, keyFromSecret, parsePrivateKeyFile } from '../../../src/dnssec/keys.ts'
import type { DnssecAlgorithm, SigningKey } from '../../../src/dnssec/keys.ts'
import { signedData, signRRset } from '../../../src/dnssec/sign.ts'
import { parseZoneFile } from '../../../src/zone/file/parse.ts'
import type { Rec } from '../../../src/zone/types.ts'
import { havePeer } from '../../helpers/binaries.ts'

const ZONE = `$TTL 300
example.org. IN SOA ns1.example.org. hostmaster.example.org. 1 7200 900 1209600 60
example.org. IN NS ns1.example.org.
ns1 IN A 192.0.2.53
www IN A 192.0.2.81
www IN A 192.0.2.80
WWW2 IN CNAME www.Example.ORG.
mx IN MX 10 Mail.example.org.
txt IN TXT "b" "a"
srv._tcp IN SRV 0 5 443 www.example.org.
`
const dirs: string[] = []
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }) })

/** seconds since the epoch of a YYYYMMDDHHmmSS stamp. */
const stamp = (s: string): number => Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(8, 10), +s.slice(10, 12), +s.slice(12, 14)) / 1000

/** BIND makes a key for example.org and signs ZONE with it; what it made and signed. */
function bindSigned(algorithm: DnssecAlgorithm): { key: SigningKey; dnskeyLine: string; rrsigs: Map<string, { fields: string[]; signature: Buffer }> } {
  const dir = mkdtempSync(join(tmpdir(), 'incus-dns-bind-'))
  dirs.push(dir)
  const base = execFileSync('dnssec-keygen', ['-q', '-K', dir, '-a', algorithm === 'ed25519' ? 'ED25519' : 'ECDSAP256SHA256', '-f', 'KSK', 'example.org'], { encoding: 'utf8' }).trim()
  const dnskeyLine = readFileSync(join(dir, `${base}.key`), 'utf8').split('\n').find((l) => l.includes('DNSKEY')) as string
  writeFileSync(join(dir, 'example.org.zone'), `${ZONE}${dnskeyLine}\n`)
  execFileSync('dnssec-signzone', ['-z', '-O', 'full', '-K', dir, '-d', dir, '-f', join(dir, 'signed'), '-o', 'example.org', '-e', '20270101000000', '-s', '20261201000000', join(dir, 'example.org.zone')], { encoding: 'utf8' })
  const rrsigs = new Map<string, { fields: string[]; signature: Buffer }>()
  for (const line of readFileSync(join(dir, 'signed'), 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/)
    if (f[3] !== 'RRSIG') continue
    rrsigs.set(`${(f[0] as string).toLowerCase()} ${f[4]}`, { fields: f, signature: Buffer.from(f.slice(12).join(''), 'base64') })
  }
  const { algorithm: alg, secret } = parsePrivateKeyFile(readFileSync(join(dir, `${base}.private`), 'utf8'))
  expect(alg).toBe(algorithm)
  return { key: keyFromSecret('example.org', alg, secret), dnskeyLine, rrsigs }
}

const ours = parseZoneFile('example.org.zone', ZONE, 'example.org')
const rrset = (name: string, type: string): Rec[] => ours.records.filter((r) => r.name === name && r.data.type === type)
const CASES: [string, string][] = [['www.example.org', 'A'], ['www2.example.org', 'CNAME'], ['mx.example.org', 'MX'], ['txt.example.org', 'TXT'], ['srv._tcp.example.org', 'SRV'], ['example.org', 'SOA'], ['example.org', 'NS']]

describe.skipIf(!havePeer('dnssec-signzone', 'bind9-utils'))('DNSSEC keys and signatures, against BIND', () => {
  for (const algorithm of ['ecdsap256sha256', 'ed25519'] as const) {
    it(`${algorithm}: a key BIND made reads back with BIND's DNSKEY and key tag`, () => {
      const { key, dnskeyLine } = bindSigned(algorithm)
      expect(dnskeyLine.split(/\s+/).slice(-1)[0]?.length).toBeGreaterThan(0)
      const publicB64 = dnskeyLine.replace(/^.*DNSKEY\s+257\s+3\s+\d+\s+/, '').replace(/\s+/g, '')
      expect(key.dnskey.subarray(4).toString('base64')).toBe(publicB64)
      expect(key.dnskey.readUInt16BE(0)).toBe(257)
    })

    it(`${algorithm}: BIND's RRSIGs verify over our canonical form (case, order, names in rdata)${algorithm === 'ed25519' ? ', and ours are BIND\'s byte for byte' : ''}`, () => {
      const { key, rrsigs } = bindSigned(algorithm)
      for (const [name, type] of CASES) {
        const bind = rrsigs.get(`${name}. ${type}`)
        expect(bind, `BIND signed ${name} ${type}`).toBeDefined()
        const f = (bind as { fields: string[] }).fields
        expect(Number(f[10])).toBe(key.keyTag)
        const validity = { expiration: stamp(f[8] as string), inception: stamp(f[9] as string) }
        const { data } = signedData(rrset(name, type), Number(f[7]), key, validity)
        const publicKey = { key: key.privateKey, ...(algorithm === 'ed25519' ? {} : { dsaEncoding: 'ieee-p1363' as const }) }
        expect(verify(algorithm === 'ed25519' ? null : 'sha256', data, publicKey, (bind as { signature: Buffer }).signature), `${name} ${type}`).toBe(true)
        const mine = signRRset(rrset(name, type), Number(f[7]), key, validity)
        const sig = Buffer.from((mine.data as { hex: string }).hex, 'hex')
        if (algorithm === 'ed25519') expect(sig.subarray(sig.length - 64).toString('base64')).toBe((bind as { signature: Buffer }).signature.toString('base64'))
        expect(verify(algorithm === 'ed25519' ? null : 'sha256', data, publicKey, sig.subarray(sig.length - 64))).toBe(true)
      }
    })
  }

  it("our DS and key tag are dnssec-dsfromkey's, and BIND reads the key files we write", () => {
    const dir = mkdtempSync(join(tmpdir(), 'incus-dns-ds-'))
    dirs.push(dir)
    for (const algorithm of ['ecdsap256sha256', 'ed25519'] as const) {
      const key = generateKey('example.org', algorithm)
      const files = keyFiles(key, new Date('2026-12-01T00:00:00Z'))
      const base = keyFileBase(key)
      writeFileSync(join(dir, `${base}.key`), files.key)
      writeFileSync(join(dir, `${base}.private`), files.private, { mode: 0o600 })
      const ds = execFileSync('dnssec-dsfromkey', ['-2', join(dir, `${base}.key`)], { encoding: 'utf8' }).trim().split(/\s+/)
      const mine = dsRdata('example.org', key.dnskey)
      expect(Number(ds[3])).toBe(key.keyTag)
      expect(Number(ds[3])).toBe(mine.readUInt16BE(0))
      expect(Number(ds[4])).toBe(mine[2])
      expect(ds.slice(6).join('').toLowerCase()).toBe(mine.subarray(4).toString('hex'))
      // BIND signs with our files: it found and read our private key.
      writeFileSync(join(dir, 'z.zone'), `${ZONE}${files.key.split('\n')[1]}\n`)
      execFileSync('dnssec-signzone', ['-z', '-K', dir, '-d', dir, '-f', join(dir, `signed-${algorithm}`), '-o', 'example.org', join(dir, 'z.zone')], { encoding: 'utf8' })
      expect(readFileSync(join(dir, `signed-${algorithm}`), 'utf8')).toContain(`RRSIG`)
      expect(readdirSync(dir)).toContain(`${base}.private`)
    }
  })
})
