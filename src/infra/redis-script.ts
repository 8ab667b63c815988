// Lua scripts sent once and then called by SHA (ioredis defineCommand: EVALSHA, EVAL on NOSCRIPT).
import { type RedisClient } from './redis.js'

export type RedisScript = (keys: readonly string[], args: ReadonlyArray<string | number>) => Promise<unknown>

/** `numberOfKeys` null: any number of keys per call (one script batching several subjects). */
export function defineScript (redis: RedisClient, name: string, numberOfKeys: number | null, lua: string): RedisScript {
  redis.defineCommand(name, numberOfKeys === null ? { lua } : { numberOfKeys, lua })
  const command = (redis as unknown as Record<string, (...a: Array<string | number>) => Promise<unknown>>)[name]
  if (command === undefined) throw new Error(`redis script ${name} was not defined`)
  if (numberOfKeys === null) return (keys, args) => command.call(redis, keys.length, ...keys, ...args)
  return (keys, args) => command.call(redis, ...keys, ...args)
}

/**
 * Whether one script may touch keys of different subjects: not on a Cluster, where each call
 * must stay inside one hash slot.
 */
export const batchesAcrossKeys = (redis: RedisClient): boolean => !redis.isCluster
