/**
 * The knotd differential's one step: the same question through dig to us and to knotd at once, and the same
 * answer from both, normalized (records as sorted sets; `serials` as in normalize). Both replies come back
 * for the checks a case adds.
 */
import { expect } from 'vitest'
import { dig } from '../helpers/dig.ts'
import type { DigResult } from '../helpers/dig.ts'
import { normalize } from './normalize.ts'

export async function expectSameAsKnot(ourPort: number, knotPort: number, name: string, type: string, opts: { args?: readonly string[]; serials?: boolean } = {}): Promise<[DigResult, DigResult]> {
  const digOpts = opts.args === undefined ? {} : { args: opts.args }
  const [ours, theirs] = await Promise.all([dig('127.0.0.1', ourPort, name, type, digOpts), dig('127.0.0.1', knotPort, name, type, digOpts)])
  expect(normalize(ours, opts.serials ?? false), `ours:\n${ours.raw}\nknotd:\n${theirs.raw}`).toEqual(normalize(theirs, opts.serials ?? false))
  return [ours, theirs]
}
