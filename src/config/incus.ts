/**
 * @module config/incus
 * Settings → how to reach Incus. Certificate files are read here, at start-up, so a missing or unreadable
 * file stops start-up naming its setting instead of failing later on every sync.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { ConfigError, ConfigErrors } from '../errors.ts'
import type { IncusConnection } from '../incus/api/connection.ts'
import type { Config } from './settings.ts'

/** null when the Incus source is off (INCUS_DNS_INCUS_SOCKET=none and no URL). */
export function incusConnection(c: Config): IncusConnection | null {
  if (c.incusUrl.length === 0) return c.incusSocket === 'none' ? null : { kind: 'unix', socketPath: c.incusSocket }
  const problems: ConfigError[] = []
  const read = (env: string, file: string, what: string): string => {
    try {
      const text = readFileSync(file, 'utf8')
      if (!text.includes('-----BEGIN')) throw new Error('not a PEM file')
      return text
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      problems.push(new ConfigError(env, `${env}: cannot read ${what} '${file}': ${e.code ?? e.message}`))
      return ''
    }
  }
  // Read, then parsed as TLS will: a PEM whose body is garbage fails here, naming the setting, not at every sync.
  const parsed = (env: string, file: string, what: string, text: string, parse: (pem: string) => unknown): void => {
    if (text === '') return
    try { parse(text) } catch (err) {
      problems.push(new ConfigError(env, `${env}: '${file}' is not ${what} in PEM (${(err as Error).message}); make one with: incus remote generate-certificate, or openssl`))
    }
  }
  const cert = read('INCUS_DNS_INCUS_TLS_CERT', c.incusTlsCert, 'the client certificate')
  const key = read('INCUS_DNS_INCUS_TLS_KEY', c.incusTlsKey, 'the client key')
  const ca = c.incusTlsCa === '' ? null : read('INCUS_DNS_INCUS_TLS_CA', c.incusTlsCa, 'the CA bundle')
  parsed('INCUS_DNS_INCUS_TLS_CERT', c.incusTlsCert, 'a certificate', cert, (pem) => new X509Certificate(pem))
  parsed('INCUS_DNS_INCUS_TLS_KEY', c.incusTlsKey, 'a private key', key, (pem) => createPrivateKey(pem))
  if (ca !== null) parsed('INCUS_DNS_INCUS_TLS_CA', c.incusTlsCa, 'a certificate', ca, (pem) => new X509Certificate(pem))
  if (problems.length > 0) throw new ConfigErrors(problems)
  return {
    kind: 'https', url: c.incusUrl[0] as string, urls: c.incusUrl, cert, key, ca,
    serverName: c.incusTlsServerName === '' ? null : c.incusTlsServerName,
    minVersion: c.incusTlsMinVersion, skipVerify: c.incusTlsSkipVerify,
    certFile: c.incusTlsCert, caFile: c.incusTlsCa === '' ? null : c.incusTlsCa,
  }
}
