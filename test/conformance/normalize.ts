/** Puts answers from any runner into one comparable shape. */
export interface Answer {
  readonly rcode: string
  readonly flags: readonly string[]
  readonly answer: readonly string[]
  readonly authority: readonly string[]
  readonly additional: readonly string[]
}

/** SOA serials become SERIAL (ours is time-based); records within a section compare as a sorted set. */
export function normalize(a: Answer): Answer {
  const fix = (list: readonly string[]): string[] =>
    list.map((r) => r.replace(/^(\S+ \d+ IN SOA \S+ \S+) \d+/, '$1 SERIAL')).sort()
  return { rcode: a.rcode, flags: [...a.flags].sort(), answer: fix(a.answer), authority: fix(a.authority), additional: fix(a.additional) }
}
