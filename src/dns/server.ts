/**
 * @module dns/server
 * Opens UDP and TCP on every listen address, on the same port (port 0 picks one free for both).
 */
import type dgram from 'node:dgram'
import type { Logger } from 'pino'
import { formatAddress } from '../address.ts'
import type { ListenAddress } from '../address.ts'
import { ListenError } from '../errors.ts'
import type { ForwardHook, HandoffHook } from './answer.ts'
import type { Cookies } from './cookies.ts'
import type { Rrl } from './rrl.ts'
import type { Identity } from './identity.ts'
import type { DnsStats } from './stats.ts'
import { listenTcp } from './tcp.ts'
import { TcpPool } from './tcp-pool.ts'
import type { TcpListener } from './tcp.ts'
import { bindUdp } from './udp.ts'
import type { ViewTable } from './view-table.ts'

export interface DnsServerOptions {
  readonly listen: readonly ListenAddress[]
  /** The default view's table, and the views clients are sorted into (dns/view-table.ts). */
  readonly viewTable: ViewTable
  readonly stats: DnsStats
  readonly log: Logger
  readonly tcpIdleTimeoutMs: number
  readonly tcpMaxConnections: number
  readonly tcpMaxPerSource: number
  readonly tcpPressureIdleTimeoutMs: number
  readonly forward?: ForwardHook
  readonly handoff?: HandoffHook
  /** Bind UDP with SO_REUSEPORT (for worker threads on the same ports). */
  readonly reusePort?: boolean
  /** NSID and CHAOS TXT (dns/identity.ts); null or absent: neither. */
  readonly identity?: Identity | null
  /** DNS cookies (dns/cookies.ts); null or absent: off. */
  readonly cookies?: Cookies | null
  /** Response rate limiting of UDP answers (dns/rrl.ts); null or absent: off. */
  readonly rrl?: Rrl | null
}

export interface DnsServer {
  /** The addresses actually bound, with the ports chosen for port 0. */
  readonly addresses: readonly ListenAddress[]
  /** The UDP socket of each address, in the same order. */
  readonly udpSockets: readonly dgram.Socket[]
  close(graceMs?: number): Promise<void>
}

export async function startDnsServer(opts: DnsServerOptions): Promise<DnsServer> {
  const udps: dgram.Socket[] = []
  const tcps: TcpListener[] = []
  const addresses: ListenAddress[] = []
  const pool = new TcpPool({
    maxConnections: opts.tcpMaxConnections, maxPerSource: opts.tcpMaxPerSource, idleTimeoutMs: opts.tcpIdleTimeoutMs,
    pressureIdleTimeoutMs: opts.tcpPressureIdleTimeoutMs, stats: opts.stats,
  })
  const close = async (graceMs = 2000): Promise<void> => {
    for (const u of udps) u.close()
    await Promise.all(tcps.map((t) => t.close(graceMs)))
  }
  try {
    for (const want of opts.listen) {
      const [udp, tcp] = await bindPair(want, opts, pool)
      udps.push(udp)
      tcps.push(tcp)
      addresses.push({ host: want.host, port: udp.address().port })
    }
  } catch (err) {
    await close(0)
    throw err
  }
  return { addresses, udpSockets: udps, close }
}

/** UDP first, then TCP on the same port; with port 0, retry when the kernel's UDP pick is taken on TCP. */
async function bindPair(want: ListenAddress, opts: DnsServerOptions, pool: TcpPool): Promise<[dgram.Socket, TcpListener]> {
  for (let attempt = 0; ; attempt++) {
    let udp: dgram.Socket
    try {
      udp = await bindUdp({ ...opts, host: want.host, port: want.port })
    } catch (err) {
      throw listenError('UDP', want, err)
    }
    try {
      const tcp = await listenTcp({ ...opts, host: want.host, port: udp.address().port, pool })
      return [udp, tcp]
    } catch (err) {
      udp.close()
      if (want.port !== 0 || attempt >= 20 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
        throw listenError('TCP', want, err)
      }
    }
  }
}

function listenError(proto: string, at: ListenAddress, err: unknown): ListenError {
  const code = (err as NodeJS.ErrnoException).code ?? String(err)
  const where = formatAddress(at)
  const hint = code === 'EACCES' ? '; ports below 1024 need root or CAP_NET_BIND_SERVICE'
    : code === 'EADDRINUSE' ? '; another server (systemd-resolved, dnsmasq?) holds it, pick another port'
      : code === 'EADDRNOTAVAIL' ? '; no interface has this address' : ''
  return new ListenError(`cannot listen on ${proto} ${where}: ${code}${hint} (INCUS_DNS_LISTEN)`, { cause: err })
}
