// attack-memory (supplementary): issue 7's memory target. An address flood where every address
// makes two attempts and is never seen again; with ip_attempts lowered to one attempt, each
// address leaves a blocked key the gateway remembers in process. RSS must stay under 200 MB
// while 100 000 such addresses are tracked (the in-process caches are bounded).
import { seededRandom } from '../traffic/addresses.js'
import { createFloodAgent } from '../traffic/attack-agents.js'
import { commonObjectives, extraObjective } from './objectives.js'
import { type Scenario } from './types.js'

const ADDRESSES = 100_000

export const attackMemory: Scenario = {
  name: 'attack-memory',
  summary: `Memory while ${ADDRESSES} distinct attacking addresses are tracked: each address tries twice (ip_attempts lowered to 1, so the second attempt is blocked and remembered) and is never seen again. Ends once all addresses are done or the duration is up.`,
  defaults: { durationS: 120, model: { kind: 'closed', connections: 20 } },
  needsOwnStack: true,
  gatewayEnv: { LIMITS: JSON.stringify({ global_attempts: { points: 100_000 }, ip_attempts: { points: 1 } }) },
  async run (ctx) {
    let issued = 0
    const nextAddress = () => ++issued
    const loads = (connections: number) => [{ cls: 'stuffing' as const, connections, makeAgent: (c: number) => createFloodAgent({ nextAddress, random: seededRandom(c + 1) }) }]
    const connections = ctx.options.model.kind === 'closed' ? ctx.options.model.connections : ctx.options.model.connections ?? 20
    await ctx.warmUp({ name: 'warm-up', durationS: 1, loads: loads(2) })
    const phase = await ctx.phase({ name: 'address flood', durationS: ctx.options.durationS, loads: loads(connections), stopWhen: () => issued >= ADDRESSES })
    // The gateway's last word on memory: one more scrape after the flood.
    await new Promise(resolve => setTimeout(resolve, 1500))
    const samples = ctx.samples().filter(s => s.t >= phase.start && s.rssMb !== undefined)
    const rss = samples.map(s => s.rssMb ?? 0)
    const last = samples.at(-1)
    return {
      kind: 'ran',
      extras: {
        addressesTracked: Math.min(issued, ADDRESSES),
        addressTarget: ADDRESSES,
        rssStartMb: samples[0]?.rssMb ?? null,
        rssMaxMb: rss.length === 0 ? null : Math.max(...rss),
        rssEndMb: last?.rssMb ?? null,
        heapUsedEndMb: last?.heapUsedMb ?? null,
        blockCacheHits: last?.blockCacheHits ?? null
      }
    }
  },
  objectives: input => {
    const reached = typeof input.extras.addressesTracked === 'number' && input.extras.addressesTracked >= ADDRESSES
    return [
      ...commonObjectives(input),
      extraObjective(input, 'addressesTracked', 'distinct attacking addresses tracked', '>=', ADDRESSES, 'count'),
      // Only meaningful once the flood reached its size: otherwise "not measured".
      { ...extraObjective(input, 'rssMaxMb', `gateway RSS while ${ADDRESSES} addresses are tracked (highest sample)`, '<=', 200, 'mb'), ...(reached ? {} : { actual: undefined }) }
    ]
  }
}
