/**
 * @module cli/handoff
 * What the hot path hands off (dns/reply.ts HANDOFF) goes to the one that answers it: an UPDATE to the
 * updater (none: NOTIMP), an AXFR or IXFR to the transfer code, a TSIG-signed query to dns/signed.ts with every
 * key we have (the transfer key and the update keys), and a query with DO whose signatures are made for the
 * name asked to dns/online-sign.ts (from a worker thread, that is any other query handed over).
 */
import type { HandoffHook } from '../dns/answer.ts'
import { answerOnline } from '../dns/online-sign.ts'
import { answerSigned } from '../dns/signed.ts'
import { findTsig } from '../dns/tsig.ts'
import type { TsigKey } from '../dns/tsig.ts'
import type { ZoneSigner } from '../zone/signer.ts'
import type { ViewTable } from '../dns/view-table.ts'
import type { Updater } from '../update/updater.ts'

const OPCODE_UPDATE = 5
const TYPE_IXFR = 251
const TYPE_AXFR = 252

export function handoffHook(o: { readonly transfer: HandoffHook; readonly updater: Updater | null; readonly viewTable: ViewTable; readonly keys: readonly TsigKey[]; readonly signer: ZoneSigner | null; readonly counts?: { online: number } }): HandoffHook {
  const keyring = new Map(o.keys.map((k) => [k.name, k]))
  return (req, reply, peer, tcp, respond) => {
    if ((((req[2] as number) >> 3) & 0x0f) === OPCODE_UPDATE) {
      if (o.updater === null) return false
      respond([o.updater.handle(req, peer)])
      return true
    }
    if (reply.qtype === TYPE_AXFR || reply.qtype === TYPE_IXFR) return o.transfer(req, reply, peer, tcp, respond)
    const table = o.viewTable.split ? o.viewTable.pick(peer.address).table : o.viewTable.default.table
    if (o.signer !== null && (reply.online || findTsig(req) === null)) {
      const subnets = o.viewTable.subnets && o.viewTable.trustsSubnet(peer.address) ? o.viewTable : null
      const msg = answerOnline(req, tcp, table, reply, o.signer, subnets)
      if (msg === null) return false
      if (o.counts !== undefined) o.counts.online++
      respond([msg])
      return true
    }
    const signer = o.signer
    const online = signer === null ? null : (q: Buffer, t: boolean, tb: typeof table, r: typeof reply): Buffer | null => answerOnline(q, t, tb, r, signer, null)
    const signed = answerSigned(req, tcp, table, reply, keyring, Math.floor(Date.now() / 1000), online)
    if (signed === null) return false
    respond([signed])
    return true
  }
}
