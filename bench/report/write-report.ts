// Writes a run's report.json, report.md and report.html into its results directory.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { renderHtml } from './html.js'
import { renderMarkdown } from './markdown.js'
import { type Report } from './report.js'

/** bench/results/<scenario>-<UTC yyyymmdd-hhmmss>: sortable, one directory per run. */
export function resultsDirName (scenario: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
  return `${scenario}-${stamp}`
}

// JSON cannot hold NaN or Infinity: they become null rather than breaking the file.
const finite = (_key: string, value: unknown): unknown => typeof value === 'number' && !Number.isFinite(value) ? null : value

export async function writeReport (dir: string, report: Report): Promise<string[]> {
  await mkdir(dir, { recursive: true })
  const json = join(dir, 'report.json')
  const md = join(dir, 'report.md')
  const html = join(dir, 'report.html')
  await writeFile(json, `${JSON.stringify(report, finite, 2)}\n`)
  await writeFile(md, `${renderMarkdown(report)}\n`)
  await writeFile(html, renderHtml(report))
  return [json, md, html]
}
