/**
 * Throwaway certificates made with the openssl command: self-signed EC P-384 like Incus's own
 * (shared/incus-api §1.2), with the SANs a test needs.
 */
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface CertFiles {
  readonly certFile: string
  readonly keyFile: string
  readonly cert: string
  readonly key: string
  /** DER bytes, as Incus compares trusted certificates. */
  readonly der: Buffer
}

export function selfSigned(cn: string, san = `DNS:${cn}`): CertFiles {
  const dir = mkdtempSync(join(tmpdir(), 'incus-dns-cert-'))
  const certFile = join(dir, `${cn}.crt`)
  const keyFile = join(dir, `${cn}.key`)
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp384r1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/O=Linux Containers/CN=${cn}`, '-addext', `subjectAltName=${san}`], { stdio: 'ignore' })
  const cert = readFileSync(certFile, 'utf8')
  return { certFile, keyFile, cert, key: readFileSync(keyFile, 'utf8'), der: Buffer.from(new X509Certificate(cert).raw) }
}
