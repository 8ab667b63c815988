// Lua scripts sent once and then called by SHA (ioredis defineCommand: EVALSHA, EVAL on NOSCRIPT).
import { type RedisClient } from './redis.js'

export type RedisScript = (keys: readonly string[], args: ReadonlyArray<string | number>) => Promise<unknown>

export function defineScript (redis: RedisClient, name: string, numberOfKeys: number, lua: string): RedisScript {
  redis.defineCommand(name, { numberOfKeys, lua })
  const command = (redis as unknown as Record<string, (...a: Array<string | number>) => Promise<unknown>>)[name]
  if (command === undefined) throw new Error(`redis script ${name} was not defined`)
  return (keys, args) => command.call(redis, ...keys, ...args)
}
