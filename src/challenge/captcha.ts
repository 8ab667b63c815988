// An external CAPTCHA, verified server-side: the siteverify call that Cloudflare Turnstile,
// reCAPTCHA and hCaptcha share (form-encoded secret, response, remoteip; JSON {success}).
// Any failure to verify counts as "not solved": a CAPTCHA never fails open.
import { Pool } from 'undici'

export interface CaptchaVerifier {
  verify: (token: string, remoteIp: string) => Promise<boolean>
  close: () => Promise<void>
}

export interface CaptchaOptions {
  url: string
  secret: string
  timeoutMs: number
  onError: (message: string) => void
}

export function createCaptchaVerifier (o: CaptchaOptions): CaptchaVerifier {
  const url = new URL(o.url)
  const pool = new Pool(url.origin, { connections: 16, headersTimeout: o.timeoutMs, bodyTimeout: o.timeoutMs })
  return {
    async verify (token, remoteIp) {
      try {
        const res = await pool.request({
          path: url.pathname + url.search,
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ secret: o.secret, response: token, remoteip: remoteIp }).toString(),
          signal: AbortSignal.timeout(o.timeoutMs)
        })
        if (res.statusCode !== 200) {
          await res.body.dump()
          o.onError(`captcha siteverify answered ${res.statusCode}`)
          return false
        }
        const answer = await res.body.json() as { success?: unknown }
        return answer.success === true
      } catch (err) {
        o.onError(`captcha siteverify failed: ${(err as Error).message}`)
        return false
      }
    },
    close: () => pool.close()
  }
}
