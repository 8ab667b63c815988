// The gateway as a real process, started the way `npm start` does, for what only a process
// shows: exit codes, startup logs, signals.
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { onTestFinished } from 'vitest'

export interface GatewayProcess {
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
}

const ROOT = new URL('../../', import.meta.url).pathname

/** Starts src/server.ts with exactly `env` (plus PATH and HOME): no inherited configuration. */
export function spawnGateway (env: Record<string, string>): GatewayProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout?.on('data', d => { output += d.toString() })
  child.stderr?.on('data', d => { output += d.toString() })
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })
  return { child, output: () => output, exited }
}

export async function waitForOutput (p: GatewayProcess, pattern: RegExp, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!pattern.test(p.output())) {
    if (Date.now() > deadline) throw new Error(`no ${pattern} in output within ${timeoutMs} ms:\n${p.output()}`)
    if (p.child.exitCode !== null) throw new Error(`gateway exited with ${p.child.exitCode}:\n${p.output()}`)
    await sleep(50)
  }
}
