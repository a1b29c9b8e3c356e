/**
 * The key folder (dnssec/key-store.ts): a zone's key is made once (private file 0600) and read back the same
 * after; a private file others can read is refused with the chmod that fixes it; BIND's timing fields decide
 * which keys are in the DNSKEY RRset and which sign (a key roll with dnssec-settime).
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { activeKeys, KeyStore, KeyStoreError, publishedKeys } from '../../../src/dnssec/key-store.ts'
import { havePeer } from '../../helpers/binaries.ts'

const dirs: string[] = []
const fresh = (): string => { const d = mkdtempSync(join(tmpdir(), 'incus-dns-keys-')); dirs.push(d); return d }
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }) })

describe('the key folder', () => {
  it("makes a zone's key once, private, and reads the same key back", () => {
    const dir = join(fresh(), 'keys')
    const store = new KeyStore(dir, 'ecdsap256sha256')
    expect(store.keysOf('example.org')).toEqual([])
    const [made] = store.ensure('example.org')
    expect(made?.key.algorithm).toBe('ecdsap256sha256')
    const files = readdirSync(dir).sort()
    expect(files).toEqual([`Kexample.org.+013+${String(made?.key.keyTag).padStart(5, '0')}.key`, `Kexample.org.+013+${String(made?.key.keyTag).padStart(5, '0')}.private`])
    expect(statSync(join(dir, files[1] as string)).mode & 0o777).toBe(0o600)
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    const again = new KeyStore(dir, 'ed25519').ensure('example.org')
    expect(again).toHaveLength(1)
    expect(again[0]?.key.dnskey.equals(made?.key.dnskey as Buffer)).toBe(true) // kept, whatever the algorithm setting now
    expect(new KeyStore(dir, 'ed25519').ensure('example.net')[0]?.key.algorithm).toBe('ed25519')
  })

  it('refuses a private key file others can read, naming the file and the fix', () => {
    const dir = fresh()
    const [k] = new KeyStore(dir, 'ed25519').ensure('example.org')
    chmodSync(k?.file as string, 0o644)
    expect(() => new KeyStore(dir, 'ed25519').keysOf('example.org')).toThrow(KeyStoreError)
    expect(() => new KeyStore(dir, 'ed25519').keysOf('example.org')).toThrow(`${k?.file} can be read by others (mode 644); make it private: chmod 600 ${k?.file}`)
  })

  it.skipIf(!havePeer('dnssec-settime', 'bind9-utils'))("BIND's timing fields: a key pre-published for a roll is in the DNSKEY RRset but does not sign yet", () => {
    const dir = fresh()
    const [old] = new KeyStore(dir, 'ecdsap256sha256').ensure('example.org')
    const base = execFileSync('dnssec-keygen', ['-q', '-K', dir, '-a', 'ECDSAP256SHA256', '-f', 'KSK', '-P', 'now', '-A', 'now+2d', 'example.org'], { encoding: 'utf8' }).trim()
    chmodSync(join(dir, `${base}.private`), 0o600)
    const keys = new KeyStore(dir, 'ecdsap256sha256').keysOf('example.org')
    expect(keys).toHaveLength(2)
    const now = Date.now() / 1000
    expect(publishedKeys(keys, now)).toHaveLength(2)
    expect(activeKeys(keys, now).map((k) => k.keyTag)).toEqual([old?.key.keyTag])
    expect(activeKeys(keys, now + 3 * 86400)).toHaveLength(2)
    // The old one retired: inactive now, deleted later (dnssec-settime on our own file).
    execFileSync('dnssec-settime', ['-K', dir, '-I', 'now', '-D', 'now+1d', (old?.file as string).replace(/\.private$/, '')])
    const after = new KeyStore(dir, 'ecdsap256sha256').keysOf('example.org')
    expect(activeKeys(after, Date.now() / 1000 + 5).map((k) => k.keyTag)).toEqual([])
    expect(publishedKeys(after, Date.now() / 1000 + 5)).toHaveLength(2)
    expect(publishedKeys(after, Date.now() / 1000 + 2 * 86400).map((k) => k.keyTag)).not.toContain(old?.key.keyTag)
  })
})

describe("BIND's private key files", () => {
  it('a P-256 scalar BIND wrote without its leading zero bytes reads as the same key', async () => {
    const { parsePrivateKeyFile, keyFromSecret } = await import('../../../src/dnssec/keys.ts')
    const secret = Buffer.concat([Buffer.from([0]), Buffer.alloc(31, 0x42)])
    const short = `Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\nPrivateKey: ${secret.subarray(1).toString('base64')}\n`
    const parsed = parsePrivateKeyFile(short)
    expect(parsed.secret.equals(secret)).toBe(true)
    expect(keyFromSecret('example.org', parsed.algorithm, parsed.secret).dnskey.equals(keyFromSecret('example.org', 'ecdsap256sha256', secret).dnskey)).toBe(true)
  })
})
