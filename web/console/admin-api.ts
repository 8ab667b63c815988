// Every console call goes through the admin API with the operator's token, which lives in
// sessionStorage: this tab only, gone when it closes, never in a cookie the browser would send
// by itself (so no cross-site request can use it).
import { type ApiResult, callApi, type CallOptions } from '../shared/http.js'

const KEY = 'lg-admin-token'
let onRejected: () => void = () => undefined

export const adminToken = {
  get: (): string | null => sessionStorage.getItem(KEY),
  set: (token: string): void => { sessionStorage.setItem(KEY, token) },
  clear: (): void => { sessionStorage.removeItem(KEY) },
  /** Called when the gateway refuses the token (changed, or typed wrong): ask for it again. */
  onRejected: (handler: () => void): void => { onRejected = handler }
}

export async function admin<T> (path: string, o: CallOptions = {}): Promise<ApiResult<T>> {
  const result = await callApi<T>(path, { ...o, headers: { ...o.headers, authorization: `Bearer ${adminToken.get() ?? ''}` } })
  if (!result.ok && result.problem.code === 'admin_token_invalid') onRejected()
  return result
}
