/**
 * @module forward/hook
 * Connects the transports to the forwarder: the ACL check, the request taken from the client's message,
 * and the answer cut to the client's UDP size. Clients outside the ACL get the REFUSED answer already made.
 */
import type { ForwardHook, Peer, Reply } from '../dns/answer.ts'
import { EDNS_PAYLOAD } from '../dns/wire.ts'
import type { Acl } from '../address.ts'
import { fitUdp } from './forwarder.ts'
import type { Forwarder, ForwardRequest } from './forwarder.ts'

export function forwardHook(forwarder: Forwarder, acl: Acl, onError: (err: unknown) => void): ForwardHook {
  return (req: Buffer, reply: Reply, client: Peer, tcp: boolean, respond: (msg: Buffer) => void): boolean => {
    if (!acl.allows(client.address)) return false
    const fr: ForwardRequest = {
      id: req.readUInt16BE(0),
      rd: ((req[2] as number) & 0x01) !== 0,
      cd: ((req[3] as number) & 0x10) !== 0,
      question: Buffer.from(reply.head.subarray(12)),
      key: reply.key,
      ednsSize: reply.ednsSize,
      ednsDo: reply.ednsDo,
      tcp,
    }
    const limit = tcp ? 65535 : fr.ednsSize > 0 ? Math.min(fr.ednsSize, EDNS_PAYLOAD) : 512
    const hit = forwarder.cached(fr)
    if (hit !== undefined) respond(fitUdp(hit, fr, limit))
    else forwarder.resolve(fr).then((msg) => respond(fitUdp(msg, fr, limit)), onError)
    return true
  }
}

export type { Reply }
