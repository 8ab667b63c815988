// The image runs the compiled gateway (dist/), which finds its default abuse rules relative to
// its own module, as src/ does under tsx. Docker is not needed: the Dockerfile's final stage and
// the build's layout are read as written, and the rules file must land where dist/ looks for it.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, posix, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { DEFAULT_RULES_FILE } from '../../src/login-guards.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const MODULE = 'login-guards' // src/login-guards.ts, compiled to <outDir>/login-guards.js

interface Copy { from?: string, source: string, dest: string }

/** The final stage's WORKDIR and COPY instructions (one source each, as this Dockerfile writes them). */
function finalStage (dockerfile: string): { workdir: string, copies: Copy[] } {
  const lines = dockerfile.split('\n').map(l => l.trim()).filter(l => l !== '' && !l.startsWith('#'))
  const start = lines.findLastIndex(l => /^FROM\s/i.test(l))
  let workdir = '/'
  const copies: Copy[] = []
  for (const line of lines.slice(start + 1)) {
    const [instruction, ...args] = line.split(/\s+/)
    if (instruction?.toUpperCase() === 'WORKDIR' && args[0] !== undefined) workdir = posix.resolve(workdir, args[0])
    if (instruction?.toUpperCase() !== 'COPY') continue
    const from = args.find(a => a.startsWith('--from='))?.slice('--from='.length)
    const [source, dest] = args.filter(a => !a.startsWith('--'))
    if (source !== undefined && dest !== undefined) copies.push({ ...(from ? { from } : {}), source, dest: posix.resolve(workdir, dest) })
  }
  return { workdir, copies }
}

describe('the compiled layout', () => {
  it('finds the default rules file from dist/ as from src/', () => {
    const fromModule = relative(join(root, 'src'), DEFAULT_RULES_FILE) // e.g. ../rules/default-rules.yaml
    const build = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')) as { compilerOptions: { outDir: string, rootDir: string } }
    expect(resolve(root, build.compilerOptions.rootDir)).toBe(join(root, 'src'))
    const compiled = join(root, build.compilerOptions.outDir, `${MODULE}.js`)
    expect(resolve(dirname(compiled), fromModule)).toBe(join(root, 'rules', 'default-rules.yaml'))
    expect(existsSync(join(root, 'rules', 'default-rules.yaml'))).toBe(true)
  })

  it('has the image hold the rules file where its dist/ looks for it', () => {
    const { copies } = finalStage(readFileSync(join(root, 'Dockerfile'), 'utf8'))
    const dist = copies.find(c => posix.basename(c.source) === 'dist')
    expect(dist, 'the final stage copies dist/').toBeDefined()
    const wanted = posix.resolve(dist?.dest ?? '/', relative(join(root, 'src'), DEFAULT_RULES_FILE).split('\\').join('/'))
    const rules = copies.find(c => posix.resolve(c.dest, 'default-rules.yaml') === wanted && posix.basename(c.source) === 'rules')
    expect(rules, `the final stage copies rules/ to ${posix.dirname(wanted)}`).toBeDefined()
    // Copied from the build context, so .dockerignore must let it through.
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map(l => l.trim())
    if (rules?.from === undefined) expect(ignored).not.toContain('rules')
  })
})
