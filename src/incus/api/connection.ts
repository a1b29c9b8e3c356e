/**
 * @module incus/api/connection
 * How to reach Incus: a unix socket, or HTTPS with a client certificate (shared/incus-api §1). The transport
 * is a setting (as undici's `connect` option is), shared by the REST client and the event stream; TLS
 * failures are translated into words a user can act on, in one place.
 */
import type { ConnectionOptions } from 'node:tls'

export type IncusConnection =
  | { readonly kind: 'unix'; readonly socketPath: string }
  | {
    readonly kind: 'https'
    /** `https://host:8443`: the member this connection talks to. */
    readonly url: string
    /** Every member URL configured (one cluster's), `url` among them. */
    readonly urls: readonly string[]
    readonly cert: string
    readonly key: string
    /** PEM CA bundle (or the server's own certificate, pinned as Incus clients do). */
    readonly ca: string | null
    readonly serverName: string | null
    readonly minVersion: 'TLSv1.2' | 'TLSv1.3'
    readonly skipVerify: boolean
    /**
     * `ca` is the server's own certificate, pinned as the incus client pins it (servercerts/<remote>.crt):
     * trust comes from that certificate alone, so the host name is not checked against it.
     */
    readonly pinned?: boolean
    /** File names, for messages. */
    readonly certFile: string
    readonly caFile: string | null
  }

/** Where it is, for logs and messages. */
export function describe(conn: IncusConnection): string {
  return conn.kind === 'unix' ? conn.socketPath : conn.url
}

export function tlsOptions(conn: Extract<IncusConnection, { kind: 'https' }>): ConnectionOptions {
  return {
    cert: conn.cert, key: conn.key, ...(conn.ca !== null ? { ca: conn.ca } : {}),
    ...(conn.serverName !== null ? { servername: conn.serverName } : {}),
    minVersion: conn.minVersion, rejectUnauthorized: !conn.skipVerify,
    ...(conn.pinned === true ? { checkServerIdentity: () => undefined } : {}),
  }
}

const TLS_WORDS: Record<string, (c: Extract<IncusConnection, { kind: 'https' }>) => string> = {
  CERT_HAS_EXPIRED: () => "Incus's certificate has expired; renew it on the server (incus config set core.https_address ... regenerates on restart) or set INCUS_DNS_INCUS_TLS_CA to the current one",
  CERT_NOT_YET_VALID: () => "Incus's certificate is not valid yet; check the clocks of both machines",
  DEPTH_ZERO_SELF_SIGNED_CERT: (c) => `Incus's certificate is self-signed and not the one in ${c.caFile ?? 'INCUS_DNS_INCUS_TLS_CA (unset)'}; set INCUS_DNS_INCUS_TLS_CA to the server's certificate (/var/lib/incus/server.crt)`,
  SELF_SIGNED_CERT_IN_CHAIN: (c) => `Incus's certificate chain ends in a CA that ${c.caFile ?? 'INCUS_DNS_INCUS_TLS_CA (unset)'} does not hold; point INCUS_DNS_INCUS_TLS_CA at the server's CA`,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: (c) => `Incus's certificate is not signed by ${c.caFile ?? 'INCUS_DNS_INCUS_TLS_CA (unset)'}; point INCUS_DNS_INCUS_TLS_CA at the server's CA or certificate`,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: (c) => `Incus's certificate is not signed by ${c.caFile ?? 'INCUS_DNS_INCUS_TLS_CA (unset)'}; point INCUS_DNS_INCUS_TLS_CA at the server's CA or certificate`,
  ERR_TLS_CERT_ALTNAME_INVALID: () => "Incus's certificate does not name the host in INCUS_DNS_INCUS_URL; set INCUS_DNS_INCUS_TLS_SERVER_NAME to a name it holds (Incus uses the host name)",
  ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: () => 'Incus refused the TLS version; Incus needs TLS 1.3 unless INCUS_INSECURE_TLS is set on the server, so set INCUS_DNS_INCUS_TLS_MIN_VERSION=1.3',
  ERR_SSL_UNSUPPORTED_PROTOCOL: () => 'no common TLS version; set INCUS_DNS_INCUS_TLS_MIN_VERSION to what the server speaks (1.3 for Incus)',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: (c) => `Incus rejected our client certificate ${c.certFile} during the handshake; check INCUS_DNS_INCUS_TLS_CERT and _KEY belong together`,
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: (c) => `Incus says our client certificate ${c.certFile} has expired; make a new one and trust it: incus config trust add-certificate`,
}

/** Turns a connection failure into one sentence naming the place, the cause and the fix. */
export function explainConnectError(conn: IncusConnection, err: unknown): string {
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException }
  const code = e?.code ?? e?.cause?.code ?? ''
  if (conn.kind === 'unix') {
    const where = `cannot open ${conn.socketPath}: ${code || String(e?.message ?? err)}`
    if (code === 'EACCES') return `${where}; run as root or add this user to the incus-admin group`
    if (code === 'ENOENT') return `${where}; is Incus installed and running? Point INCUS_DNS_INCUS_SOCKET at its unix.socket (or /run/incus/unix.socket)`
    if (code === 'ECONNREFUSED') return `${where}; the socket exists but incusd is not listening: is it running?`
    return where
  }
  const words = TLS_WORDS[code]
  if (words !== undefined) return `${words(conn)} (${code}, ${conn.url})`
  return `cannot reach Incus at ${conn.url}: ${code || String(e?.message ?? err)}${code === 'ECONNREFUSED' ? '; is core.https_address set on the server?' : ''}`
}
