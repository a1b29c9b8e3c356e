/** Asks a store's answer table one question in-process and decodes the reply. */
import { answer, Reply } from '../../src/dns/answer.ts'
import type { AnswerTable } from '../../src/zone/table.ts'
import { decode, query } from './packets.ts'
import type { Decoded } from './packets.ts'

export function ask(table: AnswerTable, name: string, type: string, edns?: number): Decoded {
  const reply = new Reply()
  answer(query(name, type, { edns }), false, table, reply)
  return decode(Buffer.concat([reply.head, reply.body, reply.auth, reply.opt]))
}
