/**
 * One teardown for every way a start ends (cli/teardown.ts): parts stop in one fixed order, whatever order
 * they started in, each once however often the teardown runs, and each with the grace it was given.
 */
import { describe, expect, it } from 'vitest'
import { Teardown } from '../../../src/cli/teardown.ts'

describe('Teardown', () => {
  it('stops queries first, then the side port, then Incus, the cookie timer last, whatever the start order', async () => {
    const t = new Teardown()
    const stopped: string[] = []
    for (const part of ['cookies', 'updates', 'notify', 'dns', 'workers', 'incus', 'http'] as const) {
      t.add(part, async () => { await new Promise((r) => setTimeout(r, part === 'dns' ? 20 : 0)); stopped.push(part) })
    }
    await t.run(2000)
    expect(stopped).toEqual(['dns', 'workers', 'notify', 'http', 'incus', 'updates', 'cookies'])
  })

  it('stops each part once, and gives each the grace the run was given', async () => {
    const t = new Teardown()
    const graces: number[] = []
    t.add('dns', (graceMs) => { graces.push(graceMs) })
    await t.run(0)
    await t.run(2000)
    expect(graces).toEqual([0])
  })

  it('a part not started is skipped', async () => {
    const t = new Teardown()
    const stopped: string[] = []
    t.add('incus', () => { stopped.push('incus') })
    await t.run(0)
    expect(stopped).toEqual(['incus'])
  })
})
