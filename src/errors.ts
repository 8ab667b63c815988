// The problem catalog: every failure the gateway answers, by a stable `code` that clients branch
// on. A code never changes once it ships; title and detail are localised per request.

export const LOCALES = ['en', 'zh-CN'] as const
export type Locale = typeof LOCALES[number]
type Text = Record<Locale, string>

interface ProblemSpec {
  status: number
  title: Text
  /** May hold `{name}` placeholders filled from the error's params (e.g. `{retryAfter}`). */
  detail: Text
}

export const PROBLEMS = {
  invalid_request: {
    status: 400,
    title: { en: 'Invalid request', 'zh-CN': '请求无效' },
    detail: { en: 'The request is malformed or has invalid fields. See "errors".', 'zh-CN': '请求格式有误或字段无效，详见 "errors"。' }
  },
  invalid_credentials: {
    status: 401,
    title: { en: 'Invalid username or password', 'zh-CN': '用户名或密码错误' },
    detail: { en: 'The username or password is incorrect.', 'zh-CN': '用户名或密码不正确。' }
  },
  invalid_code: {
    status: 401,
    title: { en: 'Invalid verification code', 'zh-CN': '验证码错误' },
    detail: { en: 'The verification code is incorrect. {attemptsLeft} attempts left.', 'zh-CN': '验证码不正确，还可尝试 {attemptsLeft} 次。' }
  },
  session_invalid: {
    status: 401,
    title: { en: 'Not signed in', 'zh-CN': '未登录' },
    detail: { en: 'Your session is missing, expired or was ended. Please sign in again.', 'zh-CN': '会话不存在、已过期或已结束，请重新登录。' }
  },
  admin_token_invalid: {
    status: 401,
    title: { en: 'Admin token required', 'zh-CN': '需要管理令牌' },
    detail: { en: 'Send Authorization: Bearer <ADMIN_TOKEN>.', 'zh-CN': '请提供 Authorization: Bearer <ADMIN_TOKEN>。' }
  },
  request_blocked: {
    status: 403,
    title: { en: 'Request blocked', 'zh-CN': '请求已被拦截' },
    detail: { en: 'This request was blocked by a security rule.', 'zh-CN': '该请求已被安全规则拦截。' }
  },
  challenge_required: {
    status: 403,
    title: { en: 'Verification required', 'zh-CN': '需要安全验证' },
    detail: { en: 'Complete the challenge and send the request again.', 'zh-CN': '请完成安全验证后重新提交请求。' }
  },
  not_found: {
    status: 404,
    title: { en: 'Not found', 'zh-CN': '未找到' },
    detail: { en: 'There is nothing at this address.', 'zh-CN': '该地址不存在。' }
  },
  request_timeout: {
    status: 408,
    title: { en: 'Request too slow', 'zh-CN': '请求超时' },
    detail: { en: 'The request did not arrive in time. Please send it again.', 'zh-CN': '请求未能及时送达，请重新发送。' }
  },
  challenge_expired: {
    status: 410,
    title: { en: 'Verification expired', 'zh-CN': '验证已过期' },
    detail: { en: 'This verification has expired or was already used. Please sign in again.', 'zh-CN': '该验证已过期或已使用，请重新登录。' }
  },
  payload_too_large: {
    status: 413,
    title: { en: 'Request too large', 'zh-CN': '请求过大' },
    detail: { en: 'The request body is larger than allowed.', 'zh-CN': '请求体超过允许的大小。' }
  },
  unsupported_media_type: {
    status: 415,
    title: { en: 'Unsupported content type', 'zh-CN': '不支持的内容类型' },
    detail: { en: 'Send application/json or application/x-www-form-urlencoded.', 'zh-CN': '请使用 application/json 或 application/x-www-form-urlencoded 格式。' }
  },
  headers_too_large: {
    status: 431,
    title: { en: 'Request headers too large', 'zh-CN': '请求头过大' },
    detail: { en: 'The request headers are larger than allowed.', 'zh-CN': '请求头超过允许的大小。' }
  },
  too_many_attempts: {
    status: 429,
    title: { en: 'Too many attempts', 'zh-CN': '尝试次数过多' },
    detail: { en: 'Too many attempts. Please try again in {retryAfter} seconds.', 'zh-CN': '尝试次数过多，请在 {retryAfter} 秒后重试。' }
  },
  internal_error: {
    status: 500,
    title: { en: 'Internal error', 'zh-CN': '内部错误' },
    detail: { en: 'Something went wrong on our side. Please try again.', 'zh-CN': '服务端出现问题，请重试。' }
  },
  auth_unavailable: {
    status: 503,
    title: { en: 'Sign-in is temporarily unavailable', 'zh-CN': '登录服务暂时不可用' },
    detail: { en: 'Sign-in is temporarily unavailable. Please try again in {retryAfter} seconds.', 'zh-CN': '登录服务暂时不可用，请在 {retryAfter} 秒后重试。' }
  },
  otp_delivery_failed: {
    status: 503,
    title: { en: 'Verification code could not be sent', 'zh-CN': '验证码发送失败' },
    detail: { en: 'We could not send your code by {channel} right now. {suggestion}', 'zh-CN': '暂时无法通过{channel}发送验证码。{suggestion}' }
  },
  maintenance: {
    status: 503,
    title: { en: 'Sign-in is under maintenance', 'zh-CN': '登录服务维护中' },
    detail: { en: 'Sign-in is under maintenance until {until}. {note}', 'zh-CN': '登录服务维护中，预计 {until} 恢复。{note}' }
  },
  overloaded: {
    status: 503,
    title: { en: 'Too busy right now', 'zh-CN': '服务繁忙' },
    detail: { en: 'We are handling a lot of sign-ins. Please try again in {retryAfter} seconds.', 'zh-CN': '当前登录人数较多，请在 {retryAfter} 秒后重试。' }
  },
  session_store_unavailable: {
    status: 503,
    title: { en: 'Sign-in is temporarily unavailable', 'zh-CN': '登录服务暂时不可用' },
    detail: { en: 'We cannot start new sessions right now. Please try again in {retryAfter} seconds.', 'zh-CN': '暂时无法创建新会话，请在 {retryAfter} 秒后重试。' }
  }
} as const satisfies Record<string, ProblemSpec>

export type ProblemCode = keyof typeof PROBLEMS

export interface FieldError {
  field: string
  reason: 'required' | 'unknown_field' | 'too_long' | 'too_short' | 'invalid_type' | 'invalid_format' | 'malformed_body'
  /** Where a reason alone says too little (a rules file: which rule, which field, what is wrong). */
  message?: string
}

export interface ProblemExtras {
  cause?: unknown
  /** Where the catalog allows two statuses (challenge_required: 403 for a rule, 429 for a limit). */
  status?: number
  /** Sets `retryAfter` in the body and the Retry-After header. */
  retryAfterSeconds?: number
  /** Extension members of the problem document (RFC 9457 §3.2), e.g. `errors`, `attemptsLeft`. */
  extensions?: Record<string, unknown>
  headers?: Record<string, string>
  /** Values for the detail's placeholders that differ per locale (not sent as members). */
  localParams?: Record<string, Record<Locale, string>>
  /** Extra fields for the one log line of the refusal (never sent to the client). */
  logFields?: Record<string, unknown>
}

export class GatewayError extends Error {
  readonly code: ProblemCode
  readonly extras: ProblemExtras

  constructor (code: ProblemCode, extras: ProblemExtras = {}, message?: string) {
    // An answer, not a bug: its stack is never shown or logged, and capturing one on every
    // refused request of an attack costs more than the refusal itself.
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    super(message ?? PROBLEMS[code].title.en, { cause: extras.cause })
    Error.stackTraceLimit = limit
    this.name = 'GatewayError'
    this.code = code
    this.extras = extras
  }
}

export function isProblemCode (value: string): value is ProblemCode {
  return Object.hasOwn(PROBLEMS, value)
}
