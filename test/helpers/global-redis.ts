import { type TestProject } from 'vitest/node'
import { startRedisServer } from './redis-server.js'

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string
  }
}

export default async function setup (project: TestProject) {
  const redis = await startRedisServer()
  project.provide('redisUrl', redis.url)
  return async () => { await redis.stop() }
}
