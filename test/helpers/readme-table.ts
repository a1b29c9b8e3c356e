/**
 * Prints docs/configuration.md's settings table from the settings table:
 * `node test/helpers/readme-table.ts` (test/unit/config checks the doc matches it).
 */
import { SETTINGS } from '../../src/config/settings.ts'

export function readmeTable(): string {
  const rows = Object.values(SETTINGS).map((s) => `| \`${s.env}\` | \`--${s.flag}\` | \`${s.default}\` | ${s.help.replace(/\|/g, '\\|')} |`)
  return ['| variable | flag | default | meaning |', '|---|---|---|---|', ...rows].join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(readmeTable())
