// Breaker state shared by replicas (opt-in): when the breaker of a dependency opens on `quorum`
// replicas, the others open too instead of each paying its own timeouts; and of the replicas
// whose reset timer runs out, one at a time probes (a Redis lock) while the rest stay open.
// When the probe succeeds, the others close at their next look. Everything in one hash tag.
import { type Logger } from 'pino'
import { type RedisClient } from '../infra/redis.js'
import { type Breaker } from './breaker.js'

export interface SharedBreakerOptions {
  redis: RedisClient
  keyPrefix: string
  name: string
  replicaId: string
  /** Replicas whose own breaker opened (within the reset timeout) that make every replica open. */
  quorum: number
  resetTimeoutMs: number
  pollMs: number
  log: Logger
  now: () => number
}

export function shareBreaker (breaker: Breaker<never[], unknown>, o: SharedBreakerOptions): { close: () => void } {
  const base = `${o.keyPrefix}breaker:{${o.name}}:`
  const votes = `${base}open`
  const probe = `${base}probe`
  const recovered = `${base}recovered`
  const quietly = (p: Promise<unknown>) => { p.catch(err => o.log.debug({ err: { message: (err as Error).message }, breaker: o.name }, 'shared breaker state unavailable')) }

  breaker.onStateChange((state, forced) => {
    if (state === 'open' && !forced) quietly(o.redis.zadd(votes, o.now(), o.replicaId).then(() => o.redis.pexpire(votes, 2 * o.resetTimeoutMs)))
    if (state === 'half_open') {
      // Only the replica that takes the lock probes; the rest wait another reset period.
      quietly(o.redis.set(probe, o.replicaId, 'PX', o.resetTimeoutMs, 'NX').then(taken => { if (taken !== 'OK') breaker.open() }))
    }
    if (state === 'closed' && !forced) {
      quietly(o.redis.multi().del(votes).del(probe).set(recovered, o.replicaId, 'PX', 2 * o.resetTimeoutMs).exec())
    }
  })

  async function look (): Promise<void> {
    const at = o.now()
    const [, count, back] = await Promise.all([o.redis.zremrangebyscore(votes, 0, at - o.resetTimeoutMs), o.redis.zcard(votes), o.redis.exists(recovered)])
    const state = breaker.state()
    if (state === 'closed' && count >= o.quorum && back === 0) {
      o.log.warn({ breaker: o.name, replicasReporting: count }, 'breaker opened: other replicas report the dependency down')
      breaker.open()
    } else if (state !== 'closed' && back === 1 && count === 0) {
      o.log.info({ breaker: o.name }, 'breaker closed: another replica\'s probe found the dependency back')
      breaker.close()
    }
  }
  const timer = setInterval(() => { look().catch(() => undefined) }, o.pollMs)
  return { close: () => { clearInterval(timer) } }
}
