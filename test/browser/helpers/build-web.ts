// Global setup of the browser project: compile web/ (tsconfig.web.json) before any page is
// opened, so that the tests drive the sources as they are now, not a stale build.
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

export default function buildWeb (): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.web.json'], { cwd: ROOT, stdio: 'inherit' })
}
