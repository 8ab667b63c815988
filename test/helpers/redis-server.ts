// Real redis-server processes on free loopback ports, so tests can kill, freeze and restart
// them. Never a mock.
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer, connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

export interface RedisProcess {
  readonly port: number
  readonly url: string
  /** SIGKILL: the server is gone, connections reset. */
  kill: () => Promise<void>
  /** SIGSTOP: the server still holds its sockets but never answers. */
  freeze: () => void
  thaw: () => void
  /** Starts a fresh (empty) server on the same port after kill(). */
  restart: () => Promise<void>
  stop: () => Promise<void>
}

export async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

async function ping (port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const socket = connect(port, '127.0.0.1')
    const done = (ok: boolean) => { socket.destroy(); resolve(ok) }
    socket.setTimeout(200, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', d => done(d.toString().startsWith('+PONG')))
  })
}

function spawnRedis (port: number, extraArgs: readonly string[]): ChildProcess {
  const child = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--loglevel', 'warning', '--protected-mode', 'no', ...extraArgs
  ], { stdio: 'ignore' })
  child.on('error', err => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      console.error('redis-server not found: install it (apt-get install redis-server); .ci/run does')
    }
  })
  return child
}

export async function waitUntilUp (port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`redis-server on port ${port} exited`)
    if (await ping(port)) return
    await sleep(25)
  }
  throw new Error(`redis-server on port ${port} did not start within 10 s`)
}

/** A redis-server on a free port (or `port`); `extraArgs` for replicas and cluster nodes. */
export async function startRedisServer (extraArgs: readonly string[] = [], port?: number): Promise<RedisProcess> {
  port ??= await freePort()
  let child = spawnRedis(port, extraArgs)
  await waitUntilUp(port, child)

  async function kill (): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGKILL')
    await once(child, 'exit')
  }

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    freeze: () => { child.kill('SIGSTOP') },
    thaw: () => { child.kill('SIGCONT') },
    async restart () {
      await kill()
      child = spawnRedis(port, extraArgs)
      await waitUntilUp(port, child)
    },
    stop: kill
  }
}
