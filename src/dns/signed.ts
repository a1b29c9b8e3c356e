/**
 * @module dns/signed
 * A TSIG-signed query (not a transfer, not an UPDATE): verified against the keyring, answered as the same
 * query unsigned would be, and the answer signed with the query's key (RFC 8945 5.3). ACME clients find a
 * name's zone this way (certbot asks SOA signed, over TCP, and checks the answer's signature). A query under a
 * key we do not have, or with a bad MAC or time, gets NOTAUTH with the TSIG error (§5.2). Off the hot path:
 * answer.ts hands these over when it meets a TSIG record.
 */
import { answer, DROP, FORWARD, HANDOFF, refuse, Reply } from './answer.ts'
import { BADTIME, findTsig, sign, verifyRequest } from './tsig.ts'
import type { TsigAlgorithm, TsigKey, TsigKeyring } from './tsig.ts'
import type { AnswerTable } from '../zone/table.ts'

const RCODE_FORMERR = 1
const RCODE_NOTAUTH = 9

/** The signed answer to a signed query, or null to drop it (a message `answer()` drops). */
export function answerSigned(req: Buffer, tcp: boolean, table: AnswerTable, transport: Reply, keys: TsigKeyring, nowSeconds: number,
  online: ((req: Buffer, tcp: boolean, table: AnswerTable, transport: Reply) => Buffer | null) | null = null): Buffer | null {
  const tsig = findTsig(req)
  if (tsig === null || tsig === 'malformed') return errorReply(req, transport, RCODE_FORMERR)
  const v = verifyRequest(req, keys, nowSeconds)
  // The question as asked, for the error replies.
  const qend = transport.head.length
  if (!v.ok) {
    const key: TsigKey = v.key ?? { name: tsig.keyName, secret: Buffer.alloc(0), algorithm: tsig.algorithm as TsigAlgorithm }
    const head = Buffer.from(req.subarray(0, qend))
    head[2] = 0x80 | ((req[2] as number) & 0x79)
    head[3] = RCODE_NOTAUTH
    head.writeUInt32BE(0, 6)
    head.writeUInt16BE(0, 10)
    return sign(head, key, { time: nowSeconds, error: v.error, ...(v.error === BADTIME ? { priorMac: tsig.mac } : {}) }).msg
  }
  // The query as if unsigned: without its TSIG record, ARCOUNT one less.
  const unsigned = Buffer.from(req.subarray(0, tsig.start))
  unsigned.writeUInt16BE(unsigned.readUInt16BE(10) - 1, 10)
  const reply = new Reply(transport.identity, transport.cookies)
  reply.peer = transport.peer
  const query = Buffer.from(unsigned) // as sent, for the per-query DNSSEC signer (answer() patches its header)
  const outcome = answer(unsigned, tcp, table, reply)
  if (outcome === DROP) return null
  // With DO, an answer DNSSEC signs per query (dns/online-sign.ts); else a signed query is answered from our zones only.
  const signedOnline = outcome === HANDOFF && reply.online && online !== null ? online(query, tcp, table, reply) : null
  if (signedOnline === null && (outcome === HANDOFF || outcome === FORWARD)) refuse(unsigned, reply)
  const msg = signedOnline ?? Buffer.concat([reply.head, reply.body, reply.auth, reply.opt])
  return sign(msg, v.key, { time: nowSeconds, priorMac: v.tsig.mac }).msg
}

function errorReply(req: Buffer, transport: Reply, rcode: number): Buffer {
  const head = Buffer.from(req.subarray(0, transport.head.length))
  head[2] = 0x80 | ((req[2] as number) & 0x79)
  head[3] = rcode
  head.writeUInt32BE(0, 6)
  head.writeUInt16BE(0, 10)
  return head
}
