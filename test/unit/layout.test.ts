/**
 * docs/design.md draws src/ as it is: the block between its layout markers is drawn from the code and the
 * layers table (test/helpers/layout.ts), so a file added, moved or removed, or a layer changed, fails here
 * until the drawing follows. `UPDATE_LAYOUT=1 npx vitest run test/unit/layout.test.ts` redraws it.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { layoutBlock } from '../helpers/layout.ts'

const DOC = new URL('../../docs/design.md', import.meta.url).pathname
const BEGIN = '<!-- layout: drawn from src/ by test/unit/layout.test.ts -->'
const END = '<!-- /layout -->'

describe('docs/design.md', () => {
  it('draws the layout of src/ as the code has it', () => {
    const doc = readFileSync(DOC, 'utf8')
    const start = doc.indexOf(BEGIN)
    const end = doc.indexOf(END)
    expect(start, `docs/design.md has the marker ${BEGIN}`).toBeGreaterThanOrEqual(0)
    expect(end, `docs/design.md has the marker ${END} after the first`).toBeGreaterThan(start)
    const drawn = `${BEGIN}\n\`\`\`\n${layoutBlock()}\n\`\`\`\n`
    if (process.env.UPDATE_LAYOUT === '1') writeFileSync(DOC, doc.slice(0, start) + drawn + doc.slice(end))
    else expect(doc.slice(start, end)).toBe(drawn)
  })
})
