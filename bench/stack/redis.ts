// The bench's own redis-server on a free loopback port: killed and restarted by the
// redis-outage scenario, and asked (INFO) how many commands and round trips the gateway made.
import { connect } from 'node:net'
import { freePort, type Managed, spawnManaged, waitFor } from './processes.js'

export interface RedisControl {
  url: string
  port: number
  /** SIGKILL: connections reset, data gone. */
  kill: () => Promise<void>
  /** A fresh, empty server on the same port. */
  restart: () => Promise<void>
  /** Counters so far, from one INFO call. */
  stats: () => Promise<RedisStats>
  stop: () => Promise<void>
  /** The running server's process id. */
  pid: () => number | undefined
}

/** One RESP command over a fresh socket; resolves with the raw reply text. */
export async function redisCommand (port: number, command: string, timeoutMs = 1000): Promise<string> {
  return await new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let reply = ''
    const done = (err?: Error) => { socket.destroy(); if (err) reject(err); else resolve(reply) }
    socket.setTimeout(timeoutMs, () => done(new Error('redis timeout')))
    socket.once('error', err => done(err))
    socket.once('connect', () => socket.write(`${command}\r\n`))
    socket.on('data', d => {
      reply += d.toString('utf8')
      // A bulk string reply is complete once its announced length has arrived.
      const header = /^\$(\d+)\r\n/.exec(reply)
      if (reply.startsWith('+') || reply.startsWith('-') || (header?.[1] !== undefined && Buffer.byteLength(reply) >= header[0].length + Number(header[1]) + 2)) done()
    })
  })
}

export interface RedisStats {
  /** Commands executed, those run inside Lua scripts included; INFO (the bench's own) left out. */
  commands: number
  /**
   * Read events on client sockets: a batch of pipelined commands is one read, so for a client
   * like the gateway's this is about one per round trip (each login stage's scripts go as one command).
   */
  reads: number
  /** Calls per command name, INFO left out. */
  byCommand: Record<string, number>
}

/** The counters from the text of INFO all (pure). */
export function parseRedisStats (info: string): RedisStats {
  const byCommand: Record<string, number> = {}
  for (const m of info.matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)) {
    if (m[1] !== undefined && m[1] !== 'info') byCommand[m[1]] = Number(m[2])
  }
  const commands = Object.values(byCommand).reduce((a, b) => a + b, 0)
  const reads = Number(/^total_reads_processed:(\d+)/m.exec(info)?.[1] ?? NaN)
  return { commands, reads, byCommand }
}

/** Commands per unit of work between two INFO readings, the busiest first, as text (pure). */
export function topCommands (before: RedisStats, after: RedisStats, per: number, top = 6): string {
  if (per <= 0) return ''
  return Object.entries(after.byCommand)
    .map(([name, n]) => [name, (n - (before.byCommand[name] ?? 0)) / per] as const)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, n]) => `${name} ${n.toFixed(2)}`)
    .join(', ')
}

export async function startRedis (): Promise<RedisControl> {
  const port = await freePort()
  const launch = async (): Promise<Managed> => {
    const child = spawnManaged('redis-server', 'redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning', '--protected-mode', 'no'
    ], { env: { PATH: process.env.PATH ?? '' }, output: 'ignore' })
    await waitFor('redis-server', async () => (await redisCommand(port, 'PING', 200)).startsWith('+PONG'), child, 10_000)
    return child
  }
  let child = await launch()
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill: async () => { await child.stop('SIGKILL') },
    async restart () {
      await child.stop('SIGKILL')
      child = await launch()
    },
    stats: async () => parseRedisStats(await redisCommand(port, 'INFO all')),
    stop: async () => { await child.stop('SIGKILL') },
    pid: () => child.alive() ? child.child.pid : undefined
  }
}
