// One way to call the gateway: JSON in and out, the reader's language in Accept-Language, and
// every failure as an RFC 9457 problem document (the gateway's own, or one made up here for a
// network error) so that the pages render all of them the same way.

export interface FieldError { field: string, reason: string, message?: string, ruleId?: string }
export interface PowOffer { type: string, difficulty: number, token: string, expiresAt: string }

export interface ProblemDoc {
  code: string
  status: number
  title: string
  detail?: string
  requestId?: string
  retryAfter?: number
  alternatives?: string[]
  until?: string
  errors?: FieldError[]
  attemptsLeft?: number
  challenge?: PowOffer
}

export type ApiResult<T> = { ok: true, status: number, body: T } | { ok: false, status: number, problem: ProblemDoc }

export interface CallOptions {
  method?: string
  json?: unknown
  /** A raw body (rules as YAML), with `contentType`. */
  text?: string
  contentType?: string
  headers?: Record<string, string>
}

export async function callApi<T> (url: string, o: CallOptions = {}): Promise<ApiResult<T>> {
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json', 'accept-language': navigator.language, ...o.headers }
  let body: string | undefined
  if (o.json !== undefined) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(o.json)
  } else if (o.text !== undefined) {
    headers['content-type'] = o.contentType ?? 'text/plain'
    body = o.text
  }
  let res: Response
  try {
    res = await fetch(url, { method: o.method ?? (body === undefined ? 'GET' : 'POST'), headers, body, credentials: 'same-origin' })
  } catch {
    return { ok: false, status: 0, problem: { code: 'network_error', status: 0, title: '' } }
  }
  const data: unknown = await res.json().catch(() => undefined)
  if (res.ok) return { ok: true, status: res.status, body: data as T }
  return { ok: false, status: res.status, problem: asProblem(data, res.status) }
}

function asProblem (data: unknown, status: number): ProblemDoc {
  const code = (data as { code?: unknown } | undefined)?.code
  return typeof code === 'string' ? data as ProblemDoc : { code: 'unexpected_answer', status, title: '' }
}
