/**
 * The tests share the machine (issue 26, 15): what the real-Incus helpers make on the host is named for this
 * run, and they remove only that, by name, pid or their own INCUS_DIR; never by a pattern (pkill, killall).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { CLUSTER_NET, INSTANCE_PREFIX } from '../helpers/real-cluster.ts'
import { BRIDGES, RUN, SECOND_BRIDGES } from '../helpers/real-incus.ts'

const HELPERS = new URL('../helpers/', import.meta.url).pathname

describe('the real-Incus helpers on a shared machine', () => {
  it('name the bridges, links and instances they make for this run', () => {
    expect(RUN).toMatch(/^[0-9a-f]{4}$/)
    for (const b of [...BRIDGES, ...SECOND_BRIDGES]) expect(b.name).toContain(RUN)
    expect(CLUSTER_NET.bridge).toContain(RUN)
    expect(INSTANCE_PREFIX).toContain(RUN)
    // Interface names: at most 15 characters.
    for (const name of [...BRIDGES, ...SECOND_BRIDGES].map((b) => b.name).concat(CLUSTER_NET.bridge)) expect(name.length).toBeLessThanOrEqual(15)
  })

  it('never kill or remove by a pattern', () => {
    for (const f of readdirSync(HELPERS).filter((x) => x.endsWith('.ts'))) {
      const text = readFileSync(HELPERS + f, 'utf8')
      expect(text, f).not.toMatch(/pkill|killall/)
      // Every `ip link del` names a link this run made (its name is built from RUN, or is a variable holding one).
      for (const m of text.matchAll(/'link', 'del', ([^\]]+)\]/g)) expect(m[1], `${f}: ip link del ${m[1]}`).not.toMatch(/^'/)
    }
  })
})
