// Lua scripts sent once and then called by SHA (ioredis defineCommand: EVALSHA, EVAL on NOSCRIPT).
//
// On one node (or Sentinel), the scripts called in the same tick go to Redis as ONE script: a
// dispatcher holding every script's body as a function runs them in call order. A login stage
// (its limit counters, velocity windows, shared-address count, session write) is then one
// command, one reply and one promise to settle instead of four (8-23% less gateway CPU per login
// measured, bench/RESULTS.md). Flushed on nextTick: merging the logins of a whole poll phase
// (setImmediate) took a tenth off Redis's CPU per login, but not the gateway's, and made the
// start of an attack slower (bench/RESULTS.md). A script that fails fails alone (pcall). On a
// Cluster every script runs by itself, since one call must stay inside one hash slot.
import { createHash } from 'node:crypto'
import { type RedisClient } from './redis.js'

export type RedisScript = (keys: readonly string[], args: ReadonlyArray<string | number>) => Promise<unknown>

/** `numberOfKeys`: the keys each call passes (ioredis finds a call's Cluster slot from the first). */
export function defineScript (redis: RedisClient, name: string, numberOfKeys: number, lua: string): RedisScript {
  if (!redis.isCluster) return batcherOf(redis).define(name, lua)
  // Alone on a Cluster node, a script asks for effects replication itself (see the dispatcher).
  redis.defineCommand(name, { numberOfKeys, lua: `redis.replicate_commands()\n${lua}` })
  const command = commandOf(redis, name)
  return async (keys, args) => await command.call(redis, ...keys, ...args)
}

type Command = (...a: Array<string | number>) => Promise<unknown>

function commandOf (redis: RedisClient, name: string): Command {
  const command = (redis as unknown as Record<string, Command>)[name]
  if (command === undefined) throw new Error(`redis script ${name} was not defined`)
  return command
}

interface Call {
  op: number
  keys: readonly string[]
  args: ReadonlyArray<string | number>
  resolve: (value: unknown) => void
  reject: (err: Error) => void
}

interface Batcher {
  define: (name: string, lua: string) => RedisScript
}

const batchers = new WeakMap<RedisClient, Batcher>()

function batcherOf (redis: RedisClient): Batcher {
  let batcher = batchers.get(redis)
  if (batcher === undefined) batchers.set(redis, batcher = createBatcher(redis))
  return batcher
}

// ARGV[1]: how many calls; then per call: op index, key count, arg count, the args. KEYS: every
// call's keys in order. Returns one entry per call: its result, or an error reply of its own.
// Effects replication first (Redis 5 and 6 may be set to replicate scripts verbatim, which
// refuses a write after a command such as HGETALL; Redis 7 knows no other way).
const dispatcher = (bodies: readonly string[]) => `
redis.replicate_commands()
local ops = {}
${bodies.map((body, i) => `ops[${i + 1}] = function (KEYS, ARGV)\n${body}\nend`).join('\n')}
local out, k, a = {}, 1, 2
for i = 1, tonumber(ARGV[1]) do
  local op, nk, na = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local keys, args = {}, {}
  for j = 1, nk do keys[j] = KEYS[k + j - 1] end
  for j = 1, na do args[j] = ARGV[a + 2 + j] end
  local ok, result = pcall(ops[op], keys, args)
  if not ok then
    out[i] = redis.error_reply(type(result) == 'table' and result.err or tostring(result))
  elseif result == nil then
    out[i] = false
  else
    out[i] = result
  end
  k, a = k + nk, a + 3 + na
end
return out`

function createBatcher (redis: RedisClient): Batcher {
  const bodies: string[] = []
  let script = { lua: '', sha: '', ops: -1 }
  let queue: Call[] = []

  // EVALSHA, and EVAL when Redis does not know the script yet (a new connection, or a dispatcher
  // with a script defined since): the dispatcher changes as scripts are defined, so it is no
  // ioredis custom command.
  async function run (keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    if (script.ops !== bodies.length) {
      const lua = dispatcher(bodies)
      script = { lua, sha: createHash('sha1').update(lua).digest('hex'), ops: bodies.length }
    }
    const { lua, sha } = script
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args)
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err
      return await redis.eval(lua, keys.length, ...keys, ...args)
    }
  }

  function flush (): void {
    const calls = queue
    queue = []
    const keys: string[] = []
    const args: Array<string | number> = [calls.length]
    for (const c of calls) {
      for (const k of c.keys) keys.push(k)
      args.push(c.op, c.keys.length, c.args.length)
      for (const a of c.args) args.push(a)
    }
    run(keys, args).then(reply => {
      const results = reply as unknown[]
      calls.forEach((c, i) => {
        const result = results[i]
        if (result instanceof Error) c.reject(result)
        else c.resolve(result)
      })
    }, (err: Error) => { for (const c of calls) c.reject(err) })
  }

  return {
    define (name, lua) {
      const op = bodies.push(`-- ${name}\n${lua}`)
      return (keys, args) => new Promise((resolve, reject) => {
        if (queue.length === 0) process.nextTick(flush)
        queue.push({ op, keys, args, resolve, reject })
      })
    }
  }
}
