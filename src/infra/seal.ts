// Authenticated encryption (AES-256-GCM) of small strings under the gateway secret: for the
// personal data a store must keep for a few minutes (an OTP challenge's phone and email).
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto'

const keyOf = (secret: string, purpose: string) => createHmac('sha256', secret).update(`seal:${purpose}`).digest()

export function seal (secret: string, purpose: string, text: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', keyOf(secret, purpose), iv)
  const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()])
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')
}

/** The text, or undefined if the value was not sealed with this secret and purpose. */
export function unseal (secret: string, purpose: string, sealed: string): string | undefined {
  try {
    const raw = Buffer.from(sealed, 'base64url')
    const decipher = createDecipheriv('aes-256-gcm', keyOf(secret, purpose), raw.subarray(0, 12))
    decipher.setAuthTag(raw.subarray(12, 28))
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')
  } catch {
    return undefined
  }
}
