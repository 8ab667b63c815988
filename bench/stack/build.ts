// `--compiled`: the gateway as production runs it (Dockerfile: `node dist/server.js`), built
// from the checkout's src/ into a temporary directory so the checkout's dist/ is never touched.
import { copyFile, mkdtemp, readdir, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnManaged } from './processes.js'

const NOT_LINKED = new Set(['src', 'dist', 'package.json'])

/** What the Dockerfile sets for production (a test keeps the two in step). */
export const PRODUCTION_NODE_OPTIONS = '--max-old-space-size=112 --max-semi-space-size=8'

export interface GatewayBuild {
  /** Directory holding dist/, package.json and a node_modules link: the gateway's cwd. */
  dir: string
  entry: string
  remove: () => Promise<void>
}

export async function buildGateway (root: string, logFd: number): Promise<GatewayBuild> {
  const dir = await mkdtemp(join(tmpdir(), 'lg-bench-build-'))
  const remove = async () => { await rm(dir, { recursive: true, force: true }) }
  try {
    // --noCheck: emit what is there; type errors are the test suite's business, not the bench's.
    const tsc = spawnManaged('tsc', process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(dir, 'dist'), '--noCheck'], {
      cwd: root, env: { PATH: process.env.PATH ?? '' }, output: logFd
    })
    const timer = setTimeout(() => { tsc.stop('SIGKILL').catch(() => {}) }, 120_000)
    const code = await tsc.exited
    clearTimeout(timer)
    if (code !== 0) throw new Error(`building the gateway failed (tsc exited with ${code}); see gateway.log`)
    // dist/ops/version.js reads ../../package.json, packages resolve from node_modules above
    // dist/, and files beside src/ (rules/default-rules.yaml) are read relative to it: link them.
    await copyFile(join(root, 'package.json'), join(dir, 'package.json'))
    for (const entry of await readdir(root)) {
      if (!entry.startsWith('.') && !NOT_LINKED.has(entry)) await symlink(join(root, entry), join(dir, entry))
    }
    return { dir, entry: join(dir, 'dist', 'server.js'), remove }
  } catch (err) {
    await remove()
    throw err
  }
}

export interface ExportedCommit {
  dir: string
  commit: string
  remove: () => Promise<void>
}

async function run (name: string, command: string, args: string[], cwd: string, logFd: number): Promise<void> {
  const child = spawnManaged(name, command, args, { cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, output: logFd })
  const code = await child.exited
  if (code !== 0) throw new Error(`${name} exited with ${code}; see gateway.log`)
}

/**
 * `--gateway-commit REV`: that commit's files (git archive, read-only on the repository) in a
 * temporary directory, with this checkout's node_modules linked in, to compare builds in one go.
 */
export async function exportCommit (root: string, rev: string, logFd: number): Promise<ExportedCommit> {
  const dir = await mkdtemp(join(tmpdir(), 'lg-bench-commit-'))
  const remove = async () => { await rm(dir, { recursive: true, force: true }) }
  try {
    const tar = join(dir, 'commit.tar')
    await run('git archive', 'git', ['archive', '--format=tar', '-o', tar, rev], root, logFd)
    await run('tar', 'tar', ['-xf', tar, '-C', dir], dir, logFd)
    await rm(tar)
    await symlink(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir')
    const head = spawnManaged('git rev-parse', 'git', ['rev-parse', '--short', rev], { cwd: root, env: { PATH: process.env.PATH ?? '' }, output: 'pipe' })
    let commit = ''
    head.child.stdout?.on('data', (d: Buffer) => { commit += d.toString() })
    await head.exited
    return { dir, commit: commit.trim() || rev, remove }
  } catch (err) {
    await remove()
    throw err
  }
}
