/** Puts answers from any runner into one comparable shape. */
export interface Answer {
  readonly rcode: string
  readonly flags: readonly string[]
  readonly answer: readonly string[]
  readonly authority: readonly string[]
  readonly additional: readonly string[]
}

/**
 * Records within a section compare as a sorted set. SOA serials become SERIAL for the case table (it cannot
 * know the file's), unless `serials` keeps them: the knotd differential compares them as they are.
 */
export function normalize(a: Answer, serials = false): Answer {
  const fix = (list: readonly string[]): string[] =>
    list.map((r) => (serials ? r : r.replace(/^(\S+ \d+ IN SOA \S+ \S+) \d+/, '$1 SERIAL'))).sort()
  return { rcode: a.rcode, flags: [...a.flags].sort(), answer: fix(a.answer), authority: fix(a.authority), additional: fix(a.additional) }
}
