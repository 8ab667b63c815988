// A challenge that works offline: hashcash-style proof of work. The gateway hands out a signed,
// expiring token bound to the client's address; the client finds a number whose SHA-256 with the
// token starts with `difficulty` zero bits. Verifying is stateless apart from remembering used
// tokens, so a solution passes once.
//
// A token is `<body>.<signature>.<suffix>`. The signed body (address, expiry second,
// difficulty, a random nonce) is the same for every puzzle an address gets within one second, so
// it is signed once per second and address; each puzzle appends its own random suffix, so that
// everyone behind one NAT still gets a puzzle of their own (single use is by nonce and suffix).
// The suffix is random, not a counter: a guessable one would let a neighbour behind the same
// address solve and spend someone else's puzzle first. It needs no signature: changing it makes
// another puzzle, to be solved from scratch, which is no more than asking the gateway for one.
// During an attack this keeps an HMAC and a JSON document off every refusal. A puzzle offered for
// a refusal kept in the replica-wide failure share (`g`) is the exception: its solution takes one
// refusal back out of the share, so it is signed alone and passes once by its nonce, whatever its
// suffix (else one kept refusal could be solved out many times over).
import { createHash, createHmac, randomFillSync, randomUUID, timingSafeEqual } from 'node:crypto'
import { memoizePerSecret } from '../infra/memo.js'

export interface PowChallenge {
  type: 'pow'
  algorithm: 'sha256'
  difficulty: number
  token: string
  expiresAt: string
  /** How to answer: resend the request with this header, `<solution>` filled in. */
  respondWith: string
}

interface TokenBody {
  /** Keyed hash of the client address it was issued to. */
  a: string
  /** Expiry, epoch seconds. */
  x: number
  d: number
  n: string
  /** Offered for a refusal kept in the replica-wide failure share (see global-failures.ts). */
  g?: 1
}

export type PowCheck =
  /** `nonce`: what makes the puzzle single-use (the signed nonce and the suffix). */
  | { ok: true, nonce: string, expiresAt: number, forGlobal: boolean }
  | { ok: false, reason: 'malformed' | 'forged' | 'expired' | 'foreign' | 'unsolved' }

const mac = (secret: string, data: string) => createHmac('sha256', secret).update(`pow:${data}`).digest('base64url')

// A refused address is usually refused again and again: its binding is kept (bounded).
const BINDINGS_KEPT = 10_000
const bind = memoizePerSecret((secret, ipKey) => mac(secret, `addr:${ipKey}`).slice(0, 16), BINDINGS_KEPT)

interface SignedPart {
  secret: string
  x: number
  /** `<body>.<signature>.`: the suffix follows. */
  prefix: string
  expiresAt: string
}

// The signed part last issued to an address, by difficulty and address.
const signedParts = new Map<string, SignedPart>()
// 64 random bits per puzzle, from a pooled buffer: one call into OpenSSL per 512 puzzles.
const SUFFIX_BYTES = 8
const suffixPool = Buffer.alloc(SUFFIX_BYTES * 512)
let suffixAt = suffixPool.length
function randomSuffix (): string {
  if (suffixAt >= suffixPool.length) {
    randomFillSync(suffixPool)
    suffixAt = 0
  }
  suffixAt += SUFFIX_BYTES
  return suffixPool.toString('hex', suffixAt - SUFFIX_BYTES, suffixAt)
}
// What a client may send back as the suffix (any, as long as it solved that very token).
const SUFFIX = /^[0-9a-z]{1,16}$/

function signedPart (secret: string, ipKey: string, x: number, difficulty: number, forGlobal: boolean): SignedPart {
  // randomUUID draws from a pooled entropy buffer: 122 random bits without a call into OpenSSL.
  const body: TokenBody = { a: bind(secret, ipKey), x, d: difficulty, n: randomUUID(), ...(forGlobal ? { g: 1 as const } : {}) }
  const encoded = Buffer.from(JSON.stringify(body)).toString('base64url')
  return { secret, x, prefix: `${encoded}.${mac(secret, encoded)}.`, expiresAt: new Date(x * 1000).toISOString() }
}

export function issuePow (secret: string, ipKey: string, now: number, difficulty: number, ttlMs: number, forGlobal = false): PowChallenge {
  const x = Math.floor((now + ttlMs) / 1000)
  const slot = `${difficulty}:${ipKey}`
  let part = forGlobal ? undefined : signedParts.get(slot)
  if (part === undefined || part.x !== x || part.secret !== secret) {
    part = signedPart(secret, ipKey, x, difficulty, forGlobal)
    if (!forGlobal) {
      signedParts.delete(slot) // re-inserted at the young end
      signedParts.set(slot, part)
      if (signedParts.size > BINDINGS_KEPT) signedParts.delete(signedParts.keys().next().value as string)
    }
  }
  const token = part.prefix + randomSuffix()
  return { type: 'pow', algorithm: 'sha256', difficulty, token, expiresAt: part.expiresAt, respondWith: `X-Challenge-Response: pow ${token}:<solution>` }
}

/** Checks `<token>:<solution>` (the part after "pow "). Pure: the caller makes it single-use by the nonce. */
export function checkPow (secret: string, answer: string, ipKey: string, now: number): PowCheck {
  const [token = '', solution = '', ...rest] = answer.split(':')
  const [encoded = '', signature = '', suffix = '', ...more] = token.split('.')
  if (rest.length > 0 || more.length > 0 || !/^[0-9a-zA-Z]{1,32}$/.test(solution) || encoded === '' || signature === '' || !SUFFIX.test(suffix)) return { ok: false, reason: 'malformed' }
  const expected = Buffer.from(mac(secret, encoded))
  const given = Buffer.from(signature)
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'forged' }
  const body = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as TokenBody
  if (body.x * 1000 <= now) return { ok: false, reason: 'expired' }
  if (body.a !== bind(secret, ipKey)) return { ok: false, reason: 'foreign' }
  if (leadingZeroBits(createHash('sha256').update(`${token}:${solution}`).digest()) < body.d) return { ok: false, reason: 'unsolved' }
  return { ok: true, nonce: body.g === 1 ? body.n : `${body.n}.${suffix}`, expiresAt: body.x * 1000, forGlobal: body.g === 1 }
}

export function leadingZeroBits (digest: Buffer): number {
  let bits = 0
  for (const byte of digest) {
    if (byte === 0) { bits += 8; continue }
    return bits + Math.clz32(byte) - 24
  }
  return bits
}

/** What a client does (and the tests, the bench and the demo page): try numbers until one fits. */
export function solvePow (token: string, difficulty: number, maxTries = 50_000_000): string {
  for (let i = 0; i < maxTries; i++) {
    const candidate = i.toString(36)
    if (leadingZeroBits(createHash('sha256').update(`${token}:${candidate}`).digest()) >= difficulty) return candidate
  }
  throw new Error(`no solution within ${maxTries} tries`)
}
