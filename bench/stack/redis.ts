// The bench's own redis-server on a free loopback port: killed and restarted by the
// redis-outage scenario, and asked (INFO commandstats) how many commands the gateway sent.
import { connect } from 'node:net'
import { freePort, type Managed, spawnManaged, waitFor } from './processes.js'

export interface RedisControl {
  url: string
  port: number
  /** SIGKILL: connections reset, data gone. */
  kill: () => Promise<void>
  /** A fresh, empty server on the same port. */
  restart: () => Promise<void>
  /** Commands executed so far, INFO excluded (the bench's own reads). */
  commands: () => Promise<number>
  stop: () => Promise<void>
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

/** Total calls in INFO commandstats, leaving out INFO itself (pure). */
export function countCommands (info: string): number {
  return [...info.matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)]
    .filter(m => m[1] !== 'info')
    .reduce((sum, m) => sum + Number(m[2]), 0)
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
    commands: async () => countCommands(await redisCommand(port, 'INFO commandstats')),
    stop: async () => { await child.stop('SIGKILL') }
  }
}
