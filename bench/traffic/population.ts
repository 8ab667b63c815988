// Who exists: the account directory the mock auth backend serves and the bench's traffic draws
// from. Pure and deterministic, so the backend (its own process) and the load generator agree
// on every account without sharing state.

export interface BackendAnswer {
  status: 200 | 401
  body: { userId: string, mfa?: { phone?: string, email?: string } } | { error: 'invalid_credentials' }
}

/** Honest accounts h1..hN; a fifth of them (n % 10 < 2) have a second factor. */
export const honestUsername = (n: number): string => `h${n}`
export const honestPassword = (n: number): string => `pw-${n}-Correct-Horse`
export const hasSecondFactor = (n: number): boolean => n % 10 < 2
export const honestPhone = (n: number): string => `+86138${String(n % 100_000_000).padStart(8, '0')}`
export const honestEmail = (n: number): string => `h${n}@mail.example`

/** Attacker-owned accounts with premium-rate numbers: the SMS-pumping class logs into these. */
export const pumpUsername = (n: number): string => `pump${n}`
export const pumpPassword = (n: number): string => `pw-pump-${n}`
export const PUMP_PREFIX = '+88216'
export const pumpPhone = (n: number): string => `${PUMP_PREFIX}${String(n % 1_000_000).padStart(6, '0')}`

const HONEST = /^h([1-9]\d{0,8})$/
const PUMP = /^pump([1-9]\d{0,5})$/

/** The mock backend's whole decision: one answer for an unknown user and a wrong password. */
export function verifyCredentials (username: string, password: string): BackendAnswer {
  const honest = HONEST.exec(username)
  if (honest?.[1] !== undefined) {
    const n = Number(honest[1])
    if (password !== honestPassword(n)) return refused
    return {
      status: 200,
      body: hasSecondFactor(n)
        ? { userId: `u-${username}`, mfa: { phone: honestPhone(n), email: honestEmail(n) } }
        : { userId: `u-${username}` }
    }
  }
  const pump = PUMP.exec(username)
  if (pump?.[1] !== undefined && password === pumpPassword(Number(pump[1]))) {
    // Pumpers only give a phone: the numbers are what they profit from.
    return { status: 200, body: { userId: `u-${username}`, mfa: { phone: pumpPhone(Number(pump[1])) } } }
  }
  return refused
}

const refused: BackendAnswer = { status: 401, body: { error: 'invalid_credentials' } }

/** Indices of honest accounts for a population of `size` with `mfaShare` of them needing a code. */
export function pickHonestIndices (size: number, mfaShare: number, offset = 0): number[] {
  const wantMfa = Math.round(size * Math.min(1, Math.max(0, mfaShare)))
  const picked: number[] = []
  let mfa = 0
  let plain = 0
  // Walk the directory in order and take what the share still needs: deterministic, no gaps.
  for (let n = offset + 1; picked.length < size && n < offset + size * 20 + 20; n++) {
    if (hasSecondFactor(n) ? mfa < wantMfa : plain < size - wantMfa) {
      picked.push(n)
      if (hasSecondFactor(n)) mfa++
      else plain++
    }
  }
  return picked
}
