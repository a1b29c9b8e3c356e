/**
 * @module config/remotes
 * INCUS_DNS_INCUS_REMOTES → a connection per remote, from the incus client's own configuration, so that a user
 * who ran `incus remote add` sets up nothing else: `config.yml` (each remote's `addr`), `servercerts/<remote>.crt`
 * (the server's certificate, pinned as the client pins it), `client.crt` and `client.key`. Read at start-up:
 * a remote that is missing or unusable stops start-up, naming the remote, the file and the fix.
 */
import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { ConfigError, ConfigErrors } from '../errors.ts'
import type { IncusConnection } from '../incus/api/connection.ts'
import type { RemoteSpec } from './parse.ts'
import type { Config } from './settings.ts'

export interface Remote {
  readonly name: string
  /** The suffix its instances get: its own (`name=suffix`), else INCUS_DNS_SUFFIX. */
  readonly suffix: string | null
  readonly connection: IncusConnection
}

interface ClientRemote { readonly addr?: string; readonly protocol?: string }

/** Where the incus client keeps its configuration: INCUS_DNS_INCUS_CONF, $INCUS_CONF, ~/.config/incus. */
export function incusConfDir(c: Pick<Config, 'incusConf'>, env: NodeJS.ProcessEnv = process.env): string {
  return c.incusConf !== '' ? c.incusConf : env.INCUS_CONF !== undefined && env.INCUS_CONF !== '' ? env.INCUS_CONF : join(homedir(), '.config', 'incus')
}

const ENV = 'INCUS_DNS_INCUS_REMOTES'

/** The unix socket a `unix://` remote means: its path, else the local daemon's (INCUS_DIR, then /var/lib/incus). */
function unixSocket(addr: string, env: NodeJS.ProcessEnv): string {
  const path = addr.slice('unix://'.length)
  if (path !== '') return path
  return join(env.INCUS_DIR !== undefined && env.INCUS_DIR !== '' ? env.INCUS_DIR : '/var/lib/incus', 'unix.socket')
}

export function incusRemotes(c: Config, env: NodeJS.ProcessEnv = process.env): Remote[] {
  if (c.incusRemotes.length === 0) return []
  const dir = incusConfDir(c, env)
  const file = join(dir, 'config.yml')
  const fail = (message: string): never => { throw new ConfigErrors([new ConfigError(ENV, `${ENV}: ${message}`)]) }
  let text: string
  try { text = readFileSync(file, 'utf8') } catch (err) {
    return fail(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; add the remotes with incus remote add, or point INCUS_DNS_INCUS_CONF (or INCUS_CONF) at the folder that has config.yml`)
  }
  let doc: { remotes?: Record<string, ClientRemote> } | null
  try { doc = parse(text) as typeof doc } catch (err) { return fail(`${file} is not YAML: ${(err as Error).message.split('\n')[0] ?? ''}`) }
  const known = doc?.remotes ?? {}
  const problems: ConfigError[] = []
  const out: Remote[] = []
  const read = (path: string, what: string, remote: string): string | null => {
    try {
      const pem = readFileSync(path, 'utf8')
      if (!pem.includes('-----BEGIN')) throw new Error('not a PEM file')
      return pem
    } catch (err) {
      problems.push(new ConfigError(ENV, `${ENV}: remote '${remote}' needs ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; the incus client makes it on its first remote add (or: incus remote generate-certificate)`))
      return null
    }
  }
  for (const spec of c.incusRemotes as readonly RemoteSpec[]) {
    const r = known[spec.name]
    const suffix = spec.suffix ?? c.suffix
    if (r === undefined || typeof r.addr !== 'string') {
      problems.push(new ConfigError(ENV, `${ENV}: remote '${spec.name}' is not in ${file} (it has: ${Object.keys(known).join(', ') || 'none'}); add it with: incus remote add ${spec.name} https://<address>:8443`))
      continue
    }
    if (r.protocol !== undefined && r.protocol !== 'incus') {
      problems.push(new ConfigError(ENV, `${ENV}: remote '${spec.name}' speaks ${r.protocol} (an image server), not the incus API; name an Incus server`))
      continue
    }
    if (r.addr.startsWith('unix://')) {
      out.push({ name: spec.name, suffix, connection: { kind: 'unix', socketPath: unixSocket(r.addr, env) } })
      continue
    }
    if (!/^https:\/\/[^/]+(:\d+)?\/?$/.test(r.addr)) {
      problems.push(new ConfigError(ENV, `${ENV}: remote '${spec.name}' has addr '${r.addr}' in ${file}, which is not https://host[:port] or unix://`))
      continue
    }
    const url = r.addr.replace(/\/$/, '')
    const certFile = join(dir, 'client.crt')
    const cert = read(certFile, 'the client certificate', spec.name)
    const key = read(join(dir, 'client.key'), 'the client key', spec.name)
    const pinnedFile = join(dir, 'servercerts', `${spec.name}.crt`)
    const ca = existsSync(pinnedFile) ? read(pinnedFile, "the server's certificate", spec.name) : null
    if (cert === null || key === null) continue
    out.push({
      name: spec.name, suffix,
      connection: {
        kind: 'https', url, urls: [url], cert, key, ca, serverName: null, minVersion: c.incusTlsMinVersion, skipVerify: false,
        certFile, caFile: ca === null ? null : pinnedFile, pinned: ca !== null,
      },
    })
  }
  if (problems.length > 0) throw new ConfigErrors(problems)
  return out
}
