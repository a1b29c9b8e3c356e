/**
 * @module config/settings
 * THE table of settings: environment variable, flag, default, parser and help. `--help`, validation and
 * docs/configuration.md's table all come from here (a test checks the doc against it).
 */
import { hostname } from 'node:os'
import type { ListenAddress } from '../address.ts'
import { DEFAULT_FORWARD_ALLOW } from '../address.ts'
import { parseTsigKey, parseTsigKeys } from '../dns/tsig.ts'
import type { TsigKey } from '../dns/tsig.ts'
import { ALGORITHMS } from '../dnssec/keys.ts'
import type { DnssecAlgorithm } from '../dnssec/keys.ts'
import { parseGrants } from '../update/grants.ts'
import type { Grant } from '../update/grants.ts'
import { parseCaddyProxy } from '../incus/naming/caddy.ts'
import type { CaddyProxy } from '../incus/naming/caddy.ts'
import { parseProjectNames } from '../incus/naming/name-rules.ts'
import type { ProjectNames } from '../incus/naming/name-rules.ts'
import { parseViews } from './view-specs.ts'
import type { ViewSpec } from '../incus/naming/view-ranges.ts'
import { oneOf, parseAddressList, parseBoolean, parseCidrList, parseDomain, parseDuration, parseListen, parsePositiveInt, parseRemotes, parseStates, parseTimer, parseUpstreams } from './parse.ts'
import type { RemoteSpec } from './parse.ts'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export interface Setting<T> {
  readonly env: string
  readonly flag: string
  readonly default: string
  /** What it is, in one sentence, for --help and the README. */
  readonly help: string
  readonly parse: (raw: string) => T
}

function setting<T>(s: Setting<T>): Setting<T> {
  return s
}

export const SETTINGS = {
  listen: setting<ListenAddress[]>({
    env: 'INCUS_DNS_LISTEN', flag: 'listen', default: '127.0.0.1:5300,[::1]:5300',
    help: 'Addresses to answer DNS on, UDP and TCP on each: comma list of host:port or [v6]:port (port 0 picks a free one).',
    parse: parseListen,
  }),
  zonesDir: setting<string>({
    env: 'INCUS_DNS_ZONES_DIR', flag: 'zones-dir', default: 'zones',
    help: 'Folder of RFC 1035 zone files (*.zone) served alongside the live records.',
    parse: (raw) => { if (raw === '') throw new Error('is empty; give a folder path'); return raw },
  }),
  logLevel: setting<typeof LOG_LEVELS[number]>({
    env: 'INCUS_DNS_LOG_LEVEL', flag: 'log-level', default: 'info',
    help: `Log level: ${LOG_LEVELS.join(', ')}. Nothing is logged per query at info.`,
    parse: oneOf(LOG_LEVELS),
  }),
  tcpIdleTimeout: setting<number>({
    env: 'INCUS_DNS_TCP_IDLE_TIMEOUT', flag: 'tcp-idle-timeout', default: '10s',
    help: 'Close a TCP connection that sends no complete query for this long (also ends clients stalled mid-message).',
    parse: (raw) => parseTimer(raw, 100, '100ms (0 would never close an idle connection)'),
  }),
  incusSocket: setting<string>({
    env: 'INCUS_DNS_INCUS_SOCKET', flag: 'incus-socket', default: '/var/lib/incus/unix.socket',
    help: "Incus's unix socket (used when INCUS_DNS_INCUS_URL is not set); when INCUS_DIR is set (as for the incus command), $INCUS_DIR/unix.socket is the default; 'none' turns the Incus source off.",
    parse: (raw) => { if (raw === '') throw new Error("is empty; give the socket path, or 'none' to serve zone files only"); return raw },
  }),
  incusUrl: setting<readonly string[]>({
    env: 'INCUS_DNS_INCUS_URL', flag: 'incus-url', default: '',
    help: "A remote Incus over HTTPS with a client certificate, e.g. https://incus.example.org:8443; a cluster's members comma-separated (it fails over between them, and learns the others).",
    parse: (raw) => raw.split(',').map((u) => u.trim()).filter((u) => u !== '').map((u) => {
      if (!/^https:\/\/[^/]+(:\d+)?\/?$/.test(u)) throw new Error(`'${u}' is not https://host[:port], e.g. https://192.0.2.10:8443`)
      return u.replace(/\/$/, '')
    }),
  }),
  incusTlsCert: setting<string>({
    env: 'INCUS_DNS_INCUS_TLS_CERT', flag: 'incus-tls-cert', default: '',
    help: 'PEM file of our client certificate (trusted on the server with `incus config trust add-certificate`).',
    parse: (raw) => raw,
  }),
  incusTlsKey: setting<string>({
    env: 'INCUS_DNS_INCUS_TLS_KEY', flag: 'incus-tls-key', default: '',
    help: 'PEM file of the private key of INCUS_DNS_INCUS_TLS_CERT.',
    parse: (raw) => raw,
  }),
  incusTlsCa: setting<string>({
    env: 'INCUS_DNS_INCUS_TLS_CA', flag: 'incus-tls-ca', default: '',
    help: "PEM file of the CA (or the server's own certificate, /var/lib/incus/server.crt) to verify Incus with; empty: the system CAs.",
    parse: (raw) => raw,
  }),
  incusTlsServerName: setting<string>({
    env: 'INCUS_DNS_INCUS_TLS_SERVER_NAME', flag: 'incus-tls-server-name', default: '',
    help: "Name to expect in Incus's certificate (SNI), when it differs from the host in the URL.",
    parse: (raw) => raw,
  }),
  incusTlsMinVersion: setting<'TLSv1.2' | 'TLSv1.3'>({
    env: 'INCUS_DNS_INCUS_TLS_MIN_VERSION', flag: 'incus-tls-min-version', default: '1.2',
    help: 'Lowest TLS version to accept: 1.2 or 1.3.',
    parse: (raw) => { const v = oneOf(['1.2', '1.3'] as const)(raw); return v === '1.2' ? 'TLSv1.2' : 'TLSv1.3' },
  }),
  incusTlsSkipVerify: setting<boolean>({
    env: 'INCUS_DNS_INCUS_TLS_SKIP_VERIFY', flag: 'incus-tls-skip-verify', default: 'false',
    help: "Do not verify Incus's certificate (anyone on the path can then pose as Incus); logged as a warning.",
    parse: parseBoolean,
  }),
  incusRemotes: setting<readonly RemoteSpec[]>({
    env: 'INCUS_DNS_INCUS_REMOTES', flag: 'incus-remotes', default: '',
    help: "Several Incus servers in one zone: remotes of the incus client's configuration (incus remote add), comma-separated, each name[=suffix]; a name on two servers goes to the first in the list. See docs/clusters.md.",
    parse: parseRemotes,
  }),
  incusConf: setting<string>({
    env: 'INCUS_DNS_INCUS_CONF', flag: 'incus-conf', default: '',
    help: "The incus client's configuration folder (config.yml, servercerts/, client.crt) for INCUS_DNS_INCUS_REMOTES; empty: $INCUS_CONF, else ~/.config/incus.",
    parse: (raw) => raw,
  }),
  project: setting<string>({
    env: 'INCUS_DNS_PROJECT', flag: 'project', default: '',
    help: 'Only this Incus project; empty: all projects (all-projects=true).',
    parse: (raw) => raw,
  }),
  projectNames: setting<ProjectNames>({
    env: 'INCUS_DNS_PROJECT_NAMES', flag: 'project-names', default: '',
    help: "Which names each project's instances may claim through their keys (hostname, aliases, services, SRV): <project>=<pattern>[|<pattern>...], comma-separated, patterns like *.tenant.example.org, shop.example.org or *. A project not listed: 'default' any name in a zone served, the others only at or below <project>.<suffix>. Never a zone apex, a reverse-zone name, a wildcard or a zone file's name. See docs/names.md.",
    parse: parseProjectNames,
  }),
  caddyProxy: setting<CaddyProxy | null>({
    env: 'INCUS_DNS_CADDY_PROXY', flag: 'caddy-proxy', default: '',
    help: "Where Caddy runs, for the names it routes by instance keys (user.caddyserver.http.enable=true, user.caddyserver.http.matchers.host=<name>): an instance, [project/]name (its addresses, per view; a CNAME to it in cname target mode), or address[,address]; each routed name (allowed by the name rules) answers with the proxy. Empty: those keys are ignored.",
    parse: (raw) => (raw.trim() === '' ? null : parseCaddyProxy(raw)),
  }),
  pollInterval: setting<number>({
    env: 'INCUS_DNS_POLL_INTERVAL', flag: 'poll-interval', default: '30s',
    help: 'Full resync with Incus this often (events cover changes in between; addresses change without events).',
    parse: (raw) => parseTimer(raw, 1000, '1s'),
  }),
  incusRequestRate: setting<number>({
    env: 'INCUS_DNS_INCUS_REQUEST_RATE', flag: 'incus-request-rate', default: '50',
    help: 'Most requests a second about single instances (re-reads after events, polls for addresses not there yet), for the whole process; when more instances wait than this serves in a second, one listing of them all is made instead.',
    parse: (raw) => { if (!/^\d{1,5}$/.test(raw) || Number(raw) < 1) throw new Error(`'${raw}' is not a number of requests per second (1 or more)`); return Number(raw) },
  }),
  stateFilter: setting<ReadonlySet<string>>({
    env: 'INCUS_DNS_STATE_FILTER', flag: 'state-filter', default: 'running',
    help: 'Instance statuses that get records, comma list (running also covers ready): running, ready, frozen, ...',
    parse: parseStates,
  }),
  suffix: setting<string | null>({
    env: 'INCUS_DNS_SUFFIX', flag: 'suffix', default: '',
    help: 'Domain for instance names: <name>.<suffix>, <name>.<project>.<suffix> off the default project. Its zone is made if no zone file has it.',
    parse: (raw) => (raw === '' ? null : parseDomain(raw)),
  }),
  ttl: setting<number>({
    env: 'INCUS_DNS_TTL', flag: 'ttl', default: '30s',
    help: 'TTL of instance records (whole seconds).',
    parse: (raw) => { const ms = parseDuration(raw); if (ms % 1000 !== 0 || ms > 86_400_000) throw new Error(`'${raw}' is not whole seconds up to 24h`); return ms / 1000 },
  }),
  targetMode: setting<'guest-ip' | 'cname'>({
    env: 'INCUS_DNS_TARGET_MODE', flag: 'target-mode', default: 'guest-ip',
    help: "guest-ip: A/AAAA with the instance's addresses; cname: every instance name is a CNAME to INCUS_DNS_CNAME_TARGET.",
    parse: oneOf(['guest-ip', 'cname'] as const),
  }),
  cnameTarget: setting<string | null>({
    env: 'INCUS_DNS_CNAME_TARGET', flag: 'cname-target', default: '',
    help: 'The name every instance points at in cname mode, e.g. a reverse proxy: proxy.example.org.',
    parse: (raw) => (raw === '' ? null : parseDomain(raw)),
  }),
  reverseZones: setting<'auto' | 'off' | string[]>({
    env: 'INCUS_DNS_REVERSE_ZONES', flag: 'reverse-zones', default: 'auto',
    help: "Where PTR records go: 'auto' (the managed networks' subnets), 'off', or a CIDR list such as 10.42.0.0/24,fd42::/64.",
    parse: (raw) => (raw === 'auto' || raw === 'off' ? raw : parseCidrList(raw)),
  }),
  views: setting<ViewSpec[]>({
    env: 'INCUS_DNS_VIEWS', flag: 'views', default: '',
    help: "Split horizon: which clients see which instance addresses, ';'-separated views of name=clients[>sees] (CIDRs or Incus networks), or 'auto' (one per managed network); empty: one view. See docs/split-horizon.md.",
    parse: (raw) => (raw.trim() === '' ? [] : parseViews(raw)),
  }),
  viewsEcs: setting<string[]>({
    env: 'INCUS_DNS_VIEWS_ECS', flag: 'views-ecs', default: '',
    help: "Resolvers (addresses or CIDRs) whose EDNS Client Subnet option (RFC 7871) picks the view instead of their own address, and is echoed with its scope; empty: ECS is ignored. See docs/split-horizon.md.",
    parse: (raw) => (raw.trim() === '' ? [] : parseAddressList(raw)),
  }),
  forwarders: setting<ListenAddress[]>({
    env: 'INCUS_DNS_FORWARDERS', flag: 'forwarders', default: '',
    help: 'Upstream resolvers for names outside our zones (ip, ip:port, [v6]:port), tried in order; empty: no forwarding (REFUSED).',
    parse: parseUpstreams,
  }),
  forwardAllow: setting<string[]>({
    env: 'INCUS_DNS_FORWARD_ALLOW', flag: 'forward-allow', default: DEFAULT_FORWARD_ALLOW.join(','),
    help: 'Clients we forward for (CIDR list); others get REFUSED for names outside our zones, so this is never an open resolver.',
    parse: parseCidrList,
  }),
  forwardTimeout: setting<number>({
    env: 'INCUS_DNS_FORWARD_TIMEOUT', flag: 'forward-timeout', default: '2s',
    help: 'How long to wait for one upstream before trying the next.',
    parse: (raw) => parseTimer(raw, 10, '10ms'),
  }),
  cacheSize: setting<number>({
    env: 'INCUS_DNS_CACHE_SIZE', flag: 'cache-size', default: '10000',
    help: 'Forwarding cache: most answers kept (and at most 2 KiB per entry on average in bytes); 0 turns the cache off.',
    parse: (raw) => {
      if (!/^[0-9]+$/.test(raw)) throw new Error(`'${raw}' is not a whole number (0 turns the cache off)`)
      if (Number(raw) > 10_000_000) throw new Error(`'${raw}' is more than 10000000 answers (about 20 GB); give a smaller number`)
      return Number(raw)
    },
  }),
  cacheMaxTtl: setting<number>({
    env: 'INCUS_DNS_CACHE_MAX_TTL', flag: 'cache-max-ttl', default: '1h',
    help: 'Longest time a forwarded answer, positive or negative, is kept, whatever its TTL says.',
    parse: (raw) => Math.floor(parseDuration(raw) / 1000),
  }),
  xfrAllow: setting<string[] | null>({
    env: 'INCUS_DNS_XFR_ALLOW', flag: 'xfr-allow', default: '',
    help: 'Clients allowed AXFR/IXFR (CIDR list), e.g. the secondaries; empty: nobody (REFUSED).',
    parse: (raw) => (raw === '' ? null : parseCidrList(raw)),
  }),
  ixfrJournal: setting<number>({
    env: 'INCUS_DNS_IXFR_JOURNAL', flag: 'ixfr-journal', default: '100',
    help: 'Serial changes remembered per zone for IXFR; a secondary further behind gets the whole zone (AXFR).',
    parse: parsePositiveInt,
  }),
  notify: setting<ListenAddress[]>({
    env: 'INCUS_DNS_NOTIFY', flag: 'notify', default: '',
    help: 'Secondaries to send NOTIFY to when a zone changes (ip, ip:port, [v6]:port); at once, then at most once a second; retried until acknowledged.',
    parse: parseUpstreams,
  }),
  catalog: setting<string | null>({
    env: 'INCUS_DNS_CATALOG', flag: 'catalog', default: '',
    help: 'Serve a catalog zone (RFC 9432) of this name listing every zone served, e.g. catalog.incus-dns.invalid, so that secondaries (Knot, NSD 4.9+, PowerDNS 4.7+) follow every zone; it transfers and notifies like the others. Empty: none. See docs/secondaries.md.',
    parse: (raw) => (raw === '' ? null : parseDomain(raw)),
  }),
  dnssec: setting<boolean>({
    env: 'INCUS_DNS_DNSSEC', flag: 'dnssec', default: 'off',
    help: 'Sign every zone incus-dns serves (zone files, the Incus suffix zones, the reverse zones): DNSKEY, CDS and CDNSKEY at each apex, RRSIGs for queries with DO, compact denial (RFC 9824). on or off. See docs/dnssec.md.',
    parse: (raw) => oneOf(['on', 'off'] as const)(raw) === 'on',
  }),
  dnssecAlgorithm: setting<DnssecAlgorithm>({
    env: 'INCUS_DNS_DNSSEC_ALGORITHM', flag: 'dnssec-algorithm', default: 'ecdsap256sha256',
    help: "Algorithm of the keys made for new zones: ecdsap256sha256 (13) or ed25519 (15). A zone's existing keys are kept whatever this says.",
    parse: oneOf(ALGORITHMS),
  }),
  dnssecKeyDir: setting<string | null>({
    env: 'INCUS_DNS_DNSSEC_KEY_DIR', flag: 'dnssec-key-dir', default: '',
    help: "Folder of the zones' signing keys (BIND key files, made at a zone's first signing, 0600); empty: beside INCUS_DNS_STATE_FILE (<state file>.keys). Back it up: a lost key means a new DS at the parent.",
    parse: (raw) => (raw === '' ? null : raw),
  }),
  dnssecValidity: setting<number>({
    env: 'INCUS_DNS_DNSSEC_VALIDITY', flag: 'dnssec-validity', default: '336h',
    help: 'How long a signature holds (at least 2h; 336h is 14 days), from an hour before it is made (clock skew).',
    parse: (raw) => { const ms = parseDuration(raw); if (ms < 7_200_000 || ms % 1000 !== 0) throw new Error(`'${raw}' is not whole seconds of at least 2h`); return ms / 1000 },
  }),
  dnssecRefresh: setting<number>({
    env: 'INCUS_DNS_DNSSEC_REFRESH', flag: 'dnssec-refresh', default: '168h',
    help: 'How often every signature is made again (in slices, answers kept meanwhile); at most INCUS_DNS_DNSSEC_VALIDITY less 1h, so a signature served always holds that difference still (168h: 7 days).',
    parse: (raw) => { const ms = parseDuration(raw); if (ms < 3_600_000 || ms % 1000 !== 0) throw new Error(`'${raw}' is not whole seconds of at least 1h`); return ms / 1000 },
  }),
  tsigKey: setting<TsigKey | null>({
    env: 'INCUS_DNS_TSIG_KEY', flag: 'tsig-key', default: '',
    help: 'name:secret (base64, hmac-sha256): transfers must be signed with it, and answers and NOTIFY are signed.',
    parse: (raw) => (raw === '' ? null : parseTsigKey(raw)),
  }),
  updateKeys: setting<readonly TsigKey[]>({
    env: 'INCUS_DNS_UPDATE_KEYS', flag: 'update-keys', default: '',
    help: "TSIG keys that may send dynamic UPDATEs (RFC 2136), comma-separated, each [<algorithm>:]<name>:<base64 secret> as `keymgr -t <name>` prints it (algorithms hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256 (default), hmac-sha384, hmac-sha512); empty: UPDATE is NOTIMP. See docs/certificates.md.",
    parse: (raw) => (raw.trim() === '' ? [] : parseTsigKeys(raw)),
  }),
  updateGrants: setting<readonly Grant[]>({
    env: 'INCUS_DNS_UPDATE_GRANTS', flag: 'update-grants', default: '',
    help: 'What each update key may change: <key>:<owner pattern>:<TYPE>[/<TYPE>...], comma-separated (a * label is one or more labels; ANY for every type). A key without grants may add and delete TXT at _acme-challenge.<name> in any zone served, and nothing else.',
    parse: (raw) => (raw.trim() === '' ? [] : parseGrants(raw)),
  }),
  updateMaxTtl: setting<number>({
    env: 'INCUS_DNS_UPDATE_MAX_TTL', flag: 'update-max-ttl', default: '1h',
    help: 'Records added by UPDATE get at most this TTL (whole seconds).',
    parse: (raw) => { const ms = parseDuration(raw); if (ms % 1000 !== 0 || ms > 86_400_000) throw new Error(`'${raw}' is not whole seconds up to 24h`); return ms / 1000 },
  }),
  updateChallengeLifetime: setting<number>({
    env: 'INCUS_DNS_UPDATE_CHALLENGE_LIFETIME', flag: 'update-challenge-lifetime', default: '24h',
    help: 'A TXT record at an _acme-challenge name that no UPDATE deleted goes this long after it was added (an ACME client that died before cleaning up).',
    parse: (raw) => { const ms = parseDuration(raw); if (ms < 60_000 || ms > 30 * 86_400_000) throw new Error(`'${raw}' is not from 1m to 30 days`); return ms },
  }),
  updateFile: setting<string | null>({
    env: 'INCUS_DNS_UPDATE_FILE', flag: 'update-file', default: '',
    help: 'Where the records made by UPDATE are kept across restarts; empty: beside INCUS_DNS_STATE_FILE (<state file>.updates), or nowhere without one.',
    parse: (raw) => (raw === '' ? null : raw),
  }),
  httpListen: setting<ListenAddress | null>({
    env: 'INCUS_DNS_HTTP_LISTEN', flag: 'http-listen', default: '127.0.0.1:9153',
    help: 'Address of the HTTP side port (/metrics, /healthz, /readyz, /zone), host:port or [v6]:port; empty turns it off.',
    parse: (raw) => {
      if (raw === '') return null
      const list = parseListen(raw)
      if (list.length !== 1) throw new Error(`'${raw}' is more than one address; give one host:port`)
      return list[0] as ListenAddress
    },
  }),
  stateFile: setting<string | null>({
    env: 'INCUS_DNS_STATE_FILE', flag: 'state-file', default: '',
    help: 'Warm restart: keep the last synced Incus records in this file and answer from it at start until Incus answers; empty: off.',
    parse: (raw) => (raw === '' ? null : raw),
  }),
  workers: setting<number>({
    env: 'INCUS_DNS_WORKERS', flag: 'workers', default: '1',
    help: 'Threads answering UDP, each with its own SO_REUSEPORT socket and a replica of the zone (TCP, forwarding and transfers stay on the main thread).',
    parse: (raw) => { const n = parsePositiveInt(raw); if (n > 64) throw new Error(`'${raw}' is more than 64`); return n },
  }),
  rrlRate: setting<number>({
    env: 'INCUS_DNS_RRL_RATE', flag: 'rrl-rate', default: '0',
    help: 'Response rate limiting (UDP): responses per second each client prefix gets of each kind (one answer, one zone\'s NXDOMAIN or NODATA, one referral, one error); 0 turns it off, the default, since a resolver in front sends everything from one address. See docs/security.md.',
    parse: (raw) => { if (!/^\d{1,6}$/.test(raw)) throw new Error(`'${raw}' is not a number of responses per second (0 turns it off)`); return Number(raw) },
  }),
  rrlSlip: setting<number>({
    env: 'INCUS_DNS_RRL_SLIP', flag: 'rrl-slip', default: '2',
    help: 'Of the responses rate limiting holds back, every Nth goes out as an empty TC reply (a real client retries over TCP); 0: none, 1: all.',
    parse: (raw) => { if (!/^\d{1,2}$/.test(raw) || Number(raw) > 10) throw new Error(`'${raw}' is not 0 to 10`); return Number(raw) },
  }),
  rrlIpv4Prefix: setting<number>({
    env: 'INCUS_DNS_RRL_IPV4_PREFIX', flag: 'rrl-ipv4-prefix', default: '24',
    help: 'IPv4 clients are counted together by this prefix length.',
    parse: (raw) => { const n = Number(raw); if (!/^\d+$/.test(raw) || n < 8 || n > 32) throw new Error(`'${raw}' is not a prefix length of 8 to 32`); return n },
  }),
  rrlIpv6Prefix: setting<number>({
    env: 'INCUS_DNS_RRL_IPV6_PREFIX', flag: 'rrl-ipv6-prefix', default: '56',
    help: 'IPv6 clients are counted together by this prefix length.',
    parse: (raw) => { const n = Number(raw); if (!/^\d+$/.test(raw) || n < 16 || n > 128) throw new Error(`'${raw}' is not a prefix length of 16 to 128`); return n },
  }),
  rrlExempt: setting<string[]>({
    env: 'INCUS_DNS_RRL_EXEMPT', flag: 'rrl-exempt', default: '',
    help: 'CIDRs never rate limited: your resolvers, which send everyone\'s queries from one address.',
    parse: (raw) => (raw.trim() === '' ? [] : parseCidrList(raw)),
  }),
  rrlLogOnly: setting<boolean>({
    env: 'INCUS_DNS_RRL_LOG_ONLY', flag: 'rrl-log-only', default: 'false',
    help: 'Rate limiting only counts (incus_dns_rrl_total{action="logged"}) and answers everything: to find the rate before enforcing it.',
    parse: parseBoolean,
  }),
  cookies: setting<'off' | 'on' | 'require'>({
    env: 'INCUS_DNS_COOKIES', flag: 'cookies', default: 'on',
    help: "DNS cookies (RFC 7873, with RFC 9018 server cookies): 'on' answers a client cookie with ours; 'require' also turns away UDP clients without a valid one (BADCOOKIE with a fresh cookie, or an empty TC reply without a client cookie), so that only proven addresses get answers; 'off'. See docs/security.md.",
    parse: oneOf(['off', 'on', 'require'] as const),
  }),
  cookieSecret: setting<readonly Buffer[] | null>({
    env: 'INCUS_DNS_COOKIE_SECRET', flag: 'cookie-secret', default: '',
    help: "The server cookies' secret, 32 hex digits; 'new,old' rolls over (cookies made with the old one are still taken). Servers behind one address share it. Empty: a random one, replaced daily, kept beside INCUS_DNS_STATE_FILE when that is set.",
    parse: (raw) => {
      if (raw.trim() === '') return null
      const parts = raw.split(',').map((x) => x.trim())
      if (parts.length > 2 || parts.some((x) => !/^[0-9a-fA-F]{32}$/.test(x))) throw new Error("must be 32 hex digits (16 octets), or two of them as 'new,old' (the value is not shown: it is a secret); make one with: openssl rand -hex 16")
      return parts.map((x) => Buffer.from(x, 'hex'))
    },
  }),
  identity: setting<string | null>({
    env: 'INCUS_DNS_IDENTITY', flag: 'identity', default: 'hostname',
    help: "Which server answered: the text of CHAOS TXT id.server and hostname.bind, and of NSID (RFC 5001) when a query asks; 'hostname' for this host's name, 'none' for neither (nor version.bind).",
    parse: (raw) => {
      if (raw === 'none') return null
      const id = raw === 'hostname' ? hostname() : raw
      if (id === '' || Buffer.byteLength(id) > 255 || !/^[\x20-\x7e]+$/.test(id)) {
        throw new Error(`'${raw}' is not 1 to 255 printable ASCII characters; give a name like ns1.example.org, or 'hostname' or 'none'`)
      }
      return id
    },
  }),
  tcpMaxConnections: setting<number>({
    env: 'INCUS_DNS_TCP_MAX_CONNECTIONS', flag: 'tcp-max-connections', default: '1000',
    help: 'Most TCP connections open at once, over all listen addresses; at the cap the one idle longest is closed to let a new one in (RFC 7766 6.2.3).',
    parse: parsePositiveInt,
  }),
  tcpMaxPerSource: setting<number>({
    env: 'INCUS_DNS_TCP_MAX_PER_SOURCE', flag: 'tcp-max-per-source', default: '250',
    help: 'Most TCP connections one client address may hold; past it, its own idlest is closed, so one client cannot take every slot.',
    parse: parsePositiveInt,
  }),
  tcpPressureIdleTimeout: setting<number>({
    env: 'INCUS_DNS_TCP_PRESSURE_IDLE_TIMEOUT', flag: 'tcp-pressure-idle-timeout', default: '1s',
    help: 'The TCP idle timeout while more than 3/4 of INCUS_DNS_TCP_MAX_CONNECTIONS are open (until fewer than half are).',
    parse: (raw) => parseTimer(raw, 100, '100ms (0 would never close an idle connection)'),
  }),
} as const

export type Settings = typeof SETTINGS
export type Config = { readonly [K in keyof Settings]: ReturnType<Settings[K]['parse']> }
