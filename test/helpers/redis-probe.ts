// Ways to see what the gateway asks of Redis: commands counted by the server (INFO
// commandstats), and round trips counted by a TCP relay between the gateway and the server.
import { once } from 'node:events'
import { createServer, connect, type Socket } from 'node:net'
import { Redis } from 'ioredis'
import pino from 'pino'
import { onTestFinished } from 'vitest'
import { closeRedis, createRedis, type RedisClient, waitForRedis } from '../../src/infra/redis.js'

/** Total commands the server has executed, minus the INFO calls made to read it. */
export async function commandCounter (url: string): Promise<() => Promise<number>> {
  const admin = new Redis(url)
  onTestFinished(() => { admin.disconnect() })
  return async () => {
    const info = await admin.info('commandstats')
    const total = [...info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)]
      .filter(m => m[1] !== 'info')
      .reduce((sum, m) => sum + Number(m[2]), 0)
    return total
  }
}

export interface RoundTripRelay {
  url: string
  /** Writes from the gateway that followed a reply (or opened the connection): one per round trip. */
  roundTrips: () => number
  /** Drops every connection and refuses new ones: Redis is unreachable but keeps its data. */
  cut: () => Promise<void>
  restore: () => Promise<void>
}

/**
 * A relay that counts round trips: a burst of client writes with no server reply in between
 * is one trip, however many commands it pipelines.
 */
export async function roundTripRelay (targetPort: number): Promise<RoundTripRelay> {
  let trips = 0
  const sockets = new Set<Socket>()
  const server = createServer(client => {
    const upstream = connect(targetPort, '127.0.0.1')
    sockets.add(client).add(upstream)
    let awaitingReply = false
    client.on('data', chunk => {
      if (!awaitingReply) trips++
      awaitingReply = true
      upstream.write(chunk)
    })
    upstream.on('data', chunk => {
      awaitingReply = false
      client.write(chunk)
    })
    const end = () => { client.destroy(); upstream.destroy() }
    client.on('close', end).on('error', end)
    upstream.on('close', end).on('error', end)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  const cut = async () => {
    if (!server.listening) return
    const closed = once(server, 'close')
    server.close()
    for (const s of sockets) s.destroy()
    await closed
  }
  onTestFinished(cut)
  return {
    url: `redis://127.0.0.1:${port}`,
    roundTrips: () => trips,
    cut,
    async restore () {
      server.listen(port, '127.0.0.1')
      await once(server, 'listening')
    }
  }
}

/** A client made as the gateway makes its own (createRedis), closed after the test. */
export async function gatewayClient (url: string, commandTimeoutMs = 2000): Promise<RedisClient> {
  const redis = createRedis({ topology: { kind: 'single', url }, commandTimeoutMs, connectTimeoutMs: 2000 }, pino({ level: 'silent' }))
  onTestFinished(async () => { await closeRedis(redis) })
  await waitForRedis(redis, 2000)
  return redis
}
