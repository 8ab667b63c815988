// The gateway's admin API, as the bench uses it: maintenance windows (issue 6).

export interface AdminAnswer {
  status: number
  body: string
}

async function call (method: 'PUT' | 'DELETE', url: string, token: string, body?: unknown): Promise<AdminAnswer> {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(5000)
  })
  return { status: res.status, body: await res.text() }
}

export async function putMaintenance (gatewayUrl: string, token: string, window: { from?: string, until: string, message?: string }): Promise<AdminAnswer> {
  return await call('PUT', `${gatewayUrl}/admin/maintenance`, token, window)
}

export async function deleteMaintenance (gatewayUrl: string, token: string): Promise<AdminAnswer> {
  return await call('DELETE', `${gatewayUrl}/admin/maintenance`, token)
}
