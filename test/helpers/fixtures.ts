/** Incus API fixtures (copied from shared/incus-api/fixtures, real response shapes). */
import { readFileSync } from 'node:fs'
import type { Envelope, Instance } from '../../src/incus/api/types.ts'

export const INCUS_FIXTURES = new URL('../fixtures/incus/', import.meta.url).pathname

export function fixture<T = unknown>(name: string): Envelope<T> {
  return JSON.parse(readFileSync(`${INCUS_FIXTURES}${name}.json`, 'utf8')) as Envelope<T>
}

/** One instance from instances-recursion2.json by project/name, deep-copied so tests may edit it. */
export function instance(key: string): Instance {
  const all = fixture<Instance[]>('instances-recursion2').metadata
  const found = all.find((i) => `${i.project}/${i.name}` === key)
  if (found === undefined) throw new Error(`no instance ${key} in the fixture`)
  return structuredClone(found) as Instance
}

/** Deep-clones and edits an instance: `patch` gets a mutable copy. */
export function edited(inst: Instance, patch: (i: Record<string, any>) => void): Instance {
  const copy = structuredClone(inst) as Record<string, any>
  patch(copy)
  return copy as Instance
}
