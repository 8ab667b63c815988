// The second factor: start a challenge after a right password, send its code over a channel of
// the user's (with failover and anti-pumping caps), verify it once.
import { GatewayError, type Locale } from '../errors.js'
import { type RequestLog } from '../infra/logger.js'
import { type Metrics } from '../infra/metrics.js'
import { type BackendUser } from '../login/auth-backend.js'
import { invalidRequest } from '../problem-details.js'
import { type Challenge, type ChallengeStore, type Channel, channelsOf, destinationOf, maskedDestination, newChallenge } from './challenge.js'
import { type Delivery } from './delivery.js'
import { codeFor, codeMatches } from './otp-code.js'
import { type SendCaps } from './send-caps.js'

export interface OtpSettings {
  challengeTtlMs: number
  resendCooldownMs: number
  maxSendsPerChallenge: number
  maxAttempts: number
}

export interface OtpServiceOptions {
  store: ChallengeStore
  delivery: Delivery
  caps: SendCaps
  secret: string
  settings: OtpSettings
  metrics: Metrics
  now: () => number
}

export interface Sent {
  channel: Channel
  destination: string
  resendAfterSeconds: number
  expiresAt: number
}

export interface OtpService {
  start: (user: BackendUser, userKey: string) => Promise<{ challengeId: string, channels: Channel[], destination: string | undefined }>
  send: (challengeId: string, channel: Channel | undefined, locale: Locale, log: RequestLog) => Promise<Sent>
  /** The user and username key once the code is right; the challenge is gone afterwards. */
  verify: (challengeId: string, code: string) => Promise<Pick<Challenge, 'userId' | 'userKey'>>
}

const CHANNEL_NAMES: Record<Channel, Record<Locale, string>> = {
  sms: { en: 'SMS', 'zh-CN': '短信' },
  voice: { en: 'voice call', 'zh-CN': '语音电话' },
  email: { en: 'email', 'zh-CN': '邮件' }
}

/** "Get it by voice call or email instead." in the reader's language, or "try again later". */
export function suggestionFor (alternatives: readonly Channel[]): Record<Locale, string> {
  if (alternatives.length === 0) return { en: 'Please try again in a few minutes.', 'zh-CN': '请几分钟后重试。' }
  const names = (locale: Locale, or: string) => alternatives.map(c => CHANNEL_NAMES[c][locale]).join(or)
  return { en: `You can get it by ${names('en', ' or ')} instead.`, 'zh-CN': `您可以改用${names('zh-CN', '或')}接收。` }
}

// Every provider just failed but none is open yet: a retry a few seconds later may get through.
const RETRY_FAILED_CHANNEL_S = 5
// No provider serves any channel of this user: a configuration matter, not a matter of seconds.
const NO_PROVIDER_RETRY_S = 300

const expired = () => new GatewayError('challenge_expired')
const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000))

/** A send refused by a cooldown or cap, with the RateLimit fields the login limits send (see limitRefusal). */
function tooManySends (policy: string, budget: number, windowMs: number, retryAfterMs: number): GatewayError {
  const retryAfterSeconds = seconds(retryAfterMs)
  const headers = {
    'ratelimit-policy': `"${policy}";q=${budget};w=${Math.ceil(windowMs / 1000)}`,
    ratelimit: `"${policy}";r=0;t=${retryAfterSeconds}`
  }
  return new GatewayError('too_many_attempts', { retryAfterSeconds, headers, logFields: { otp: policy } })
}

export function createOtpService (o: OtpServiceOptions): OtpService {
  const { store, settings, metrics, now } = o

  async function deliver (c: Challenge, channel: Channel, to: string, locale: Locale, log: RequestLog): Promise<void> {
    const code = codeFor(o.secret, c.id, c.nonce)
    try {
      const delivered = await o.delivery.send({ channel, to, code, locale })
      metrics.otpChannel.inc({ channel, outcome: delivered.failedOver ? 'failed_over' : 'delivered' })
      log.info({ channel, provider: delivered.provider, failedOver: delivered.failedOver }, 'otp delivered')
    } catch (err) {
      metrics.otpChannel.inc({ channel, outcome: 'exhausted' })
      const usable = o.delivery.usableChannels()
      const alternatives = channelsOf(c).filter(ch => ch !== channel && usable.has(ch))
      throw new GatewayError('otp_delivery_failed', {
        cause: err,
        // When this channel is worth trying again: its first provider's breaker probe, or soon.
        retryAfterSeconds: Math.max(RETRY_FAILED_CHANNEL_S, seconds(o.delivery.msUntilUsable(channel))),
        extensions: { alternatives },
        localParams: { channel: CHANNEL_NAMES[channel], suggestion: suggestionFor(alternatives) },
        logFields: { channel, alternatives }
      })
    }
  }

  return {
    async start (user, userKey) {
      const challenge = newChallenge(user, userKey, now(), settings.challengeTtlMs)
      await store.create(challenge)
      const configured = o.delivery.channels()
      const own = channelsOf(challenge)
      const channels = own.filter(ch => configured.has(ch)) // never offer what nobody can send
      if (channels.length === 0) {
        throw new GatewayError('otp_delivery_failed', {
          extensions: { alternatives: [] },
          retryAfterSeconds: NO_PROVIDER_RETRY_S,
          localParams: { channel: CHANNEL_NAMES[own[0] ?? 'sms'], suggestion: suggestionFor([]) },
          logFields: { reason: 'no provider for any channel of this user' }
        })
      }
      return { challengeId: challenge.id, channels, destination: channels[0] && maskedDestination(challenge, channels[0]) }
    },

    async send (challengeId, requested, locale, log) {
      const c = await store.get(challengeId)
      if (c === null) throw expired()
      const channel = requested ?? channelsOf(c)[0]
      const to = channel && destinationOf(c, channel)
      if (channel === undefined || to === undefined) throw invalidRequest([{ field: 'channel', reason: 'invalid_format' }])

      const at = now()
      const claim = await store.claimSend(challengeId, channel, at, settings.resendCooldownMs, settings.maxSendsPerChallenge)
      if (claim.kind === 'gone') throw expired()
      if (claim.kind === 'cooldown') throw tooManySends('otp_resend_cooldown', 1, settings.resendCooldownMs, claim.retryAfterMs)
      if (claim.kind === 'exhausted') throw tooManySends('otp_sends_per_challenge', settings.maxSendsPerChallenge, settings.challengeTtlMs, c.expiresAt - at)

      const cap = await o.caps.take(channel, to)
      if (cap.kind === 'over') {
        await store.releaseSend(challengeId, channel, claim.previousSentAt)
        throw tooManySends(`otp_${cap.cap}`, cap.budget, cap.windowS * 1000, cap.retryAfterMs)
      }
      try {
        await deliver(c, channel, to, locale, log)
      } catch (err) {
        // Nothing went out: the user may pick another channel at once, and the caps give it back.
        await Promise.all([store.releaseSend(challengeId, channel, claim.previousSentAt), cap.release()])
        throw err
      }
      return { channel, destination: maskedDestination(c, channel) ?? '', resendAfterSeconds: seconds(settings.resendCooldownMs), expiresAt: c.expiresAt }
    },

    async verify (challengeId, code) {
      const [attempts, c] = await Promise.all([store.countAttempt(challengeId), store.get(challengeId)]) // one round trip
      if (attempts === null || c === null || attempts > settings.maxAttempts) {
        metrics.otpVerifications.inc({ outcome: 'challenge_expired' })
        throw expired()
      }
      const right = c.sends > 0 && codeMatches(code, codeFor(o.secret, c.id, c.nonce))
      if (!right) {
        const attemptsLeft = settings.maxAttempts - attempts
        if (attemptsLeft === 0) await store.consume(challengeId) // the last attempt burns the challenge
        metrics.otpVerifications.inc({ outcome: 'invalid_code' })
        throw new GatewayError('invalid_code', { extensions: { attemptsLeft } })
      }
      // Single use: of two requests with the right code, only the one that deletes it wins.
      if (!await store.consume(challengeId)) throw expired()
      metrics.otpVerifications.inc({ outcome: 'verified' })
      return { userId: c.userId, userKey: c.userKey }
    }
  }
}
