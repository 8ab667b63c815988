// Child processes the bench starts: each is registered so that it is killed whatever happens
// (normal end, error, SIGINT, or the bench process exiting), and stopped politely first.
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'

export interface Managed {
  name: string
  child: ChildProcess
  exited: Promise<number | null>
  alive: () => boolean
  /** `signal`, then SIGKILL after `graceMs` if it is still running. */
  stop: (signal?: NodeJS.Signals, graceMs?: number) => Promise<void>
}

const live = new Set<ChildProcess>()
let hooked = false

// Last resort: whatever path the bench takes out, no child outlives it.
function hookExit (): void {
  if (hooked) return
  hooked = true
  process.on('exit', () => { for (const child of live) child.kill('SIGKILL') })
}

export interface SpawnOptions {
  env: Record<string, string>
  cwd?: string
  /** File descriptor for stdout and stderr (a log file); 'pipe' to read them. */
  output: number | 'pipe' | 'ignore'
}

export function spawnManaged (name: string, command: string, args: readonly string[], o: SpawnOptions): Managed {
  hookExit()
  const child = spawn(command, args, { cwd: o.cwd, env: o.env, stdio: ['ignore', o.output, o.output] })
  live.add(child)
  const exited = new Promise<number | null>(resolve => {
    child.once('exit', code => { live.delete(child); resolve(code) })
    child.once('error', () => { live.delete(child); resolve(null) })
  })
  const alive = () => child.exitCode === null && child.signalCode === null && live.has(child)
  return {
    name,
    child,
    exited,
    alive,
    async stop (signal = 'SIGTERM', graceMs = 5000) {
      if (!alive()) return
      child.kill(signal)
      const timer = setTimeout(() => { if (alive()) child.kill('SIGKILL') }, graceMs)
      await exited
      clearTimeout(timer)
    }
  }
}

/** A free TCP port on loopback (never 8080 or 6379: the OS picks from its ephemeral range). */
export async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  server.close()
  await once(server, 'close')
  return port
}

/** Polls `check` until it is true, the child dies, or `timeoutMs` passes (bounded). */
export async function waitFor (what: string, check: () => Promise<boolean>, child: Managed | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child !== undefined && !child.alive()) throw new Error(`${what}: ${child.name} exited with ${child.child.exitCode ?? child.child.signalCode ?? 'an error'}`)
    if (await check().catch(() => false)) return
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  throw new Error(`${what}: not ready within ${timeoutMs} ms`)
}
