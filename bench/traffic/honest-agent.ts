// An honest user's login as the lender's web app performs it: post the password, and when a
// second factor is asked, have the code sent, read it from the phone (the mock provider's
// mailbox) and type it in. The device cookie is kept between logins; Retry-After is obeyed;
// when SMS cannot be delivered the user takes the alternative channel the answer offers; a
// proof-of-work challenge is solved and the login sent again, as the web app's script does.
import { solvePow } from '../../src/challenge/pow.js'
import { type Answer } from '../measure/classify.js'
import { type Recorder } from '../measure/recorder.js'
import { type Agent, cookieValue, IDLE, type Outgoing } from './agent.js'
import { type Account, type AccountPool } from './account-pool.js'
import { type Target } from '../scenarios/types.js'
import { FORM_TYPE, JSON_TYPE, browserHeaders, loginBody } from './headers.js'

export interface Mailbox {
  /** The last code delivered to this phone number or address, taken out of the box. */
  take: (destination: string) => string | undefined
}

export interface HonestOptions {
  pool: AccountPool
  recorder: Recorder
  /** Where codes arrive; without one (a remote target) flows needing a code cannot finish. */
  mailbox: Mailbox | undefined
  /**
   * `backend`: the same users, straight to the mock backend's /verify (overhead baseline);
   * `reference`: through the naive reference gateway, which forwards to /verify and answers as it does.
   */
  target: Target
  clock: () => number
  maxWaitS: number
  /** A crowd member logs in once and is done (post-maintenance); others keep coming back. */
  once: boolean
}

type Channel = 'sms' | 'voice' | 'email'
const BLOCKING = new Set(['too_many_attempts', 'request_blocked', 'challenge_required'])
const MAX_CHANNEL_SWITCHES = 2
const MAX_CHALLENGES = 2

/** The X-Challenge-Response for a challenge_required answer's proof of work, if it has one. */
export function solveChallenge (a: Answer): string | undefined {
  const challenge = a.json?.challenge as { type?: unknown, token?: unknown, difficulty?: unknown } | undefined
  if (challenge?.type !== 'pow' || typeof challenge.token !== 'string' || typeof challenge.difficulty !== 'number') return undefined
  return `pow ${challenge.token}:${solvePow(challenge.token, challenge.difficulty)}`
}

export function createHonestAgent (o: HonestOptions): Agent {
  let account: Account | undefined
  let step: Outgoing['step'] = 'login'
  let flowStart = -1
  let waited = 0
  let challengeId = ''
  let channel: Channel = 'sms'
  let switches = 0
  let solved: string | undefined
  let challenges = 0

  function end (ok: boolean, a: Answer | undefined) {
    if (account === undefined) return
    const code = a === undefined ? 'transport' : a.code === '' ? String(a.status) : a.code
    o.recorder.flow('honest', { startedAt: flowStart, ok, code, blocked: a !== undefined && (a.status === 429 || BLOCKING.has(a.code)), waitedMs: waited })
    if (ok) account.logins++
    else if (a?.retryAfterS !== undefined) account.notBefore = o.clock() + Math.min(a.retryAfterS, o.maxWaitS) * 1000
    if (ok && o.once) o.pool.retire(account)
    else o.pool.checkin(account)
    account = undefined
  }

  function request (a: Account): Outgoing {
    if (o.target === 'backend') {
      return { step: 'verify_direct', method: 'POST', path: '/verify', headers: { 'content-type': JSON_TYPE }, body: loginBody(a.username, a.password, false) }
    }
    if (o.target === 'reference') {
      return { step: 'verify_direct', method: 'POST', path: '/auth/login', headers: browserHeaders(a.identity, a.address, JSON_TYPE), body: loginBody(a.username, a.password, false) }
    }
    const cookie = a.did === undefined ? undefined : `did=${a.did}`
    if (step === 'login') {
      const headers = browserHeaders(a.identity, a.address, a.form ? FORM_TYPE : JSON_TYPE, cookie)
      if (solved !== undefined) headers['x-challenge-response'] = solved
      return { step, method: 'POST', path: '/auth/login', headers, body: loginBody(a.username, a.password, a.form) }
    }
    const headers = browserHeaders(a.identity, a.address, JSON_TYPE, cookie)
    if (step === 'otp_send') return { step, method: 'POST', path: '/auth/otp/send', headers, body: JSON.stringify({ challengeId, channel }) }
    const code = o.mailbox?.take(destination(a)) ?? '000000'
    return { step, method: 'POST', path: '/auth/otp/verify', headers, body: JSON.stringify({ challengeId, code }) }
  }

  const destination = (a: Account) => (channel === 'email' ? a.email : a.phone) ?? ''

  function afterLogin (a: Answer) {
    solved = a.code === 'challenge_required' && challenges < MAX_CHALLENGES ? solveChallenge(a) : undefined
    if (solved !== undefined) { challenges++; return } // the same login again, with the answer
    if (a.code !== 'otp_required') { end(a.status === 200, a); return }
    const offered = Array.isArray(a.json?.channels) ? a.json.channels.filter((c): c is Channel => c === 'sms' || c === 'voice' || c === 'email') : []
    if (o.mailbox === undefined || offered.length === 0) { end(false, { ...a, code: 'otp_unreadable' }); return }
    challengeId = typeof a.json?.challengeId === 'string' ? a.json.challengeId : ''
    channel = offered.includes('sms') ? 'sms' : offered[0] ?? 'sms'
    switches = 0
    step = 'otp_send'
  }

  function afterSend (a: Answer) {
    if (a.status === 200) { step = 'otp_verify'; return }
    const alternatives = Array.isArray(a.json?.alternatives) ? a.json.alternatives : []
    const next = alternatives.find((c): c is Channel => c === 'sms' || c === 'voice' || c === 'email')
    // The answer says what to do instead: another channel, right away.
    if (a.code === 'otp_delivery_failed' && next !== undefined && switches < MAX_CHANNEL_SWITCHES) {
      switches++
      channel = next
      return
    }
    end(false, a)
  }

  return {
    next () {
      if (account === undefined) {
        account = o.pool.checkout(o.clock())
        if (account === undefined) return IDLE
        step = 'login'
        flowStart = o.recorder.now()
        waited = 0
        solved = undefined
        challenges = 0
      }
      return request(account)
    },
    answer (a, latencyMs) {
      if (account === undefined) return // an idle poll
      waited += latencyMs
      const did = cookieValue(a.setCookies, 'did')
      if (did !== undefined) account.did = did
      if (step === 'login' || step === 'verify_direct') afterLogin(a)
      else if (step === 'otp_send') afterSend(a)
      else end(a.status === 200 && a.code === 'authenticated', a)
    },
    lost (latencyMs) {
      waited += latencyMs
      end(false, undefined)
    }
  }
}
