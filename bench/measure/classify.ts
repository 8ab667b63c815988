// What one answer means, decided from its status and body alone (pure). The report counts
// these outcomes per traffic class: an attack request that got a backend verdict "passed"
// the guard; one refused by a limit or rule was "blocked"; honest ones blocked are false positives.

export const TRAFFIC_CLASSES = ['honest', 'stuffing', 'botnet-stuffing', 'brute-force', 'bot', 'sms-pumping'] as const
export type TrafficClass = typeof TRAFFIC_CLASSES[number]

/** Which request of a flow this was. `idle` keeps a connection busy while its users wait. */
export type Step = 'login' | 'otp_send' | 'otp_verify' | 'verify_direct' | 'idle'

export const OUTCOMES = ['success', 'progress', 'refused', 'blocked', 'unavailable', 'client_error', 'server_error', 'transport'] as const
export type Outcome = typeof OUTCOMES[number]

export interface Answer {
  status: number
  /** The problem `code`, or the `status` field of a success body; '' when neither. */
  code: string
  retryAfterS: number | undefined
  json: Record<string, unknown> | undefined
  setCookies: string[]
}

export type HeaderBag = Record<string, string | string[] | undefined>

function header (headers: HeaderBag, name: string): string[] {
  const out: string[] = []
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name || value === undefined) continue
    if (Array.isArray(value)) out.push(...value)
    else out.push(value)
  }
  return out
}

function parseObject (text: string): Record<string, unknown> | undefined {
  if (!text.startsWith('{')) return undefined
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

/** Reads what the bench needs from a raw answer: code, Retry-After, cookies. */
export function readAnswer (status: number, body: string, headers: HeaderBag): Answer {
  const json = parseObject(body)
  const code = typeof json?.code === 'string' ? json.code : typeof json?.status === 'string' ? json.status : ''
  const retry = header(headers, 'retry-after')[0]
  const retryAfterS = retry !== undefined && /^\d+$/.test(retry.trim()) ? Number(retry) : undefined
  return { status, code, retryAfterS, json, setCookies: header(headers, 'set-cookie') }
}

const BLOCKING_CODES = new Set(['too_many_attempts', 'request_blocked', 'challenge_required'])
const VERDICT_CODES = new Set(['invalid_credentials', 'invalid_code'])
const SUCCESS_STATES = new Set(['authenticated', 'active', 'logged_out', 'ok'])

/** The outcome of one answer; status 0 means no answer at all (timeout, reset). */
export function classifyAnswer (status: number, code: string): Outcome {
  if (status === 0) return 'transport'
  if (status >= 200 && status < 300) return SUCCESS_STATES.has(code) || code === '' ? 'success' : 'progress'
  if (status === 429 || BLOCKING_CODES.has(code)) return 'blocked'
  // The direct backend says 401 without a problem body: still a verdict on the credentials.
  if (status === 401 && (VERDICT_CODES.has(code) || code === '')) return 'refused'
  if (status === 503) return 'unavailable'
  if (status >= 500) return 'server_error'
  return 'client_error'
}

/** The request of each class that is the attack itself; the others only set it up. */
export function isAttackStep (cls: TrafficClass, step: Step): boolean {
  if (cls === 'honest') return false
  return cls === 'sms-pumping' ? step === 'otp_send' : step === 'login'
}

/** An attack request got through the guard: the backend judged it, or a code was sent. */
export const passedGuard = (outcome: Outcome): boolean => outcome === 'success' || outcome === 'progress' || outcome === 'refused'

/** 429 and 503 promise a time to come back: the contract says they carry Retry-After. */
export const needsRetryAfter = (status: number): boolean => status === 429 || status === 503
