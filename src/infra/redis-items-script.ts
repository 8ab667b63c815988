// One script call for many items of the same kind (all the limit counters of a login, all its
// velocity subjects), each item failing alone, as separate scripts would. On one node the items
// go as one call (with the rest of the tick, see redis-script.ts); on a Cluster one call per
// item, since items of different subjects sit in different hash slots.
import { type RedisClient } from './redis.js'
import { defineScript } from './redis-script.js'

export interface ItemShape {
  /** Keys per item (all in one hash slot). */
  keys: number
  /** Args per item. */
  args: number
  /** Values the item body returns. */
  reply: number
}

export interface Item {
  keys: readonly string[]
  args: ReadonlyArray<string | number>
}

/** Per item, in order: the values its body returned, or the error that failed it alone. */
export type ItemsScript = (items: readonly Item[], shared: ReadonlyArray<string | number>) => Promise<Array<unknown[] | Error>>

/**
 * `body` is the Lua of one item: it sees `keys`, `args` and `shared` (the args common to all items)
 * and returns a table of `shape.reply` values. `prelude` runs once per call, before the items:
 * its locals (work every item would repeat) are the items' too; it must not name one `item` or `out`.
 */
export function defineItemsScript (redis: RedisClient, name: string, shape: ItemShape, shared: number, body: string, prelude = ''): ItemsScript {
  const lua = `
local shared = {}
for j = 1, ${shared} do shared[j] = ARGV[j] end
${prelude}
local item = function (keys, args, shared)
${body}
end
local out = {}
for i = 1, #KEYS / ${shape.keys} do
  local keys, args = {}, {}
  for j = 1, ${shape.keys} do keys[j] = KEYS[(i - 1) * ${shape.keys} + j] end
  for j = 1, ${shape.args} do args[j] = ARGV[${shared} + (i - 1) * ${shape.args} + j] end
  local ok, reply = pcall(item, keys, args, shared)
  out[#out + 1] = ok and 1 or 0
  for j = 1, ${shape.reply} do
    if ok then out[#out + 1] = reply[j] elseif j == 1 then out[#out + 1] = type(reply) == 'table' and reply.err or tostring(reply) else out[#out + 1] = 0 end
  end
end
return out`
  const script = defineScript(redis, name, shape.keys, lua)
  const width = shape.reply + 1
  const split = (reply: unknown[], count: number): Array<unknown[] | Error> => {
    const items: Array<unknown[] | Error> = new Array(count)
    for (let i = 0; i < count; i++) {
      items[i] = reply[i * width] === 1 ? reply.slice(i * width + 1, (i + 1) * width) : new Error(String(reply[i * width + 1]))
    }
    return items
  }

  if (!redis.isCluster) {
    return async (items, common) => {
      if (items.length === 0) return []
      const keys: string[] = []
      const args: Array<string | number> = common.slice()
      for (const it of items) {
        for (const k of it.keys) keys.push(k)
        for (const a of it.args) args.push(a)
      }
      try {
        return split(await script(keys, args) as unknown[], items.length)
      } catch (err) {
        return items.map(() => err as Error)
      }
    }
  }
  return async (items, common) => await Promise.all(items.map(async it => {
    try {
      return split(await script(it.keys, [...common, ...it.args]) as unknown[], 1)[0] ?? new Error('no reply')
    } catch (err) {
      return err as Error
    }
  }))
}
