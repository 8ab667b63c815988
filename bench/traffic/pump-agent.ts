// SMS pumping (toll fraud): the attacker owns a few accounts whose "phones" are premium-rate
// numbers it earns from, logs in with the right password, then asks for codes again and again,
// by SMS and by voice, starting fresh challenges when one runs dry. Each send is the attack.
import { type Agent, type Outgoing } from './agent.js'
import { type Random, pick } from './addresses.js'
import { JSON_TYPE, browserHeaders, browserIdentity, loginBody } from './headers.js'
import { pumpPassword, pumpUsername } from './population.js'

export interface PumpOptions {
  random: Random
  /** Indices of the attacker's own accounts (pump1..pumpN). */
  accounts: readonly number[]
  addresses: readonly string[]
}

const CHANNELS = ['sms', 'voice', 'sms', 'voice'] as const

export function createPumpAgent (o: PumpOptions): Agent {
  const identity = browserIdentity(o.random)
  let challengeId: string | undefined
  let sends = 0
  let address = pick(o.addresses, o.random)

  return {
    next (): Outgoing {
      if (challengeId === undefined) {
        const n = pick(o.accounts, o.random)
        address = pick(o.addresses, o.random)
        return { step: 'login', method: 'POST', path: '/auth/login', headers: browserHeaders(identity, address, JSON_TYPE), body: loginBody(pumpUsername(n), pumpPassword(n), false) }
      }
      const channel = CHANNELS[sends % CHANNELS.length] ?? 'sms'
      return { step: 'otp_send', method: 'POST', path: '/auth/otp/send', headers: browserHeaders(identity, address, JSON_TYPE), body: JSON.stringify({ challengeId, channel }) }
    },
    answer (a) {
      if (challengeId === undefined) {
        if (a.code === 'otp_required' && typeof a.json?.challengeId === 'string') {
          challengeId = a.json.challengeId
          sends = 0
        }
        return
      }
      // A few sends per challenge, then a new login: caps per challenge are easy to dodge.
      if (++sends >= CHANNELS.length) challengeId = undefined
    },
    lost () { challengeId = undefined }
  }
}
