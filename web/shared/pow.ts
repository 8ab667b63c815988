// The gateway's proof-of-work challenge (src/challenge/pow.ts), solved in the browser: find a
// base-36 number whose SHA-256 with the token starts with `difficulty` zero bits. Web Crypto
// digests are asynchronous, so candidates go in batches to keep the page responsive.

const BATCH = 256

export function leadingZeroBits (digest: Uint8Array): number {
  let bits = 0
  for (const byte of digest) {
    if (byte === 0) { bits += 8; continue }
    return bits + Math.clz32(byte) - 24
  }
  return bits
}

/** Resolves with the solution; crypto.subtle exists only in a secure context (https, localhost). */
export async function solvePow (token: string, difficulty: number): Promise<string> {
  if (globalThis.crypto?.subtle === undefined) throw new Error('Web Crypto needs a secure context')
  const encoder = new TextEncoder()
  // Expected tries are 2^difficulty; sixty-four times that without a hit means a bad offer.
  const maxTries = 2 ** Math.min(difficulty + 6, 32)
  for (let base = 0; base < maxTries; base += BATCH) {
    const candidates = Array.from({ length: BATCH }, (_, i) => (base + i).toString(36))
    const digests = await Promise.all(candidates.map(c => crypto.subtle.digest('SHA-256', encoder.encode(`${token}:${c}`))))
    const hit = digests.findIndex(d => leadingZeroBits(new Uint8Array(d)) >= difficulty)
    if (hit >= 0) return candidates[hit] ?? ''
  }
  throw new Error(`no solution within ${maxTries} tries`)
}
