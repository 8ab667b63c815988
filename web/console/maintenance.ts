// Maintenance: the window in force or scheduled, and the form that sets one (from now, or from
// a later time) with its message in English and Chinese, or ends it.
import { byId, fieldsOf } from '../shared/dom.js'
import { formatDateTime } from '../shared/i18n.js'
import { showMessage, showProblem } from '../shared/problem-view.js'
import { admin } from './admin-api.js'
import { locale, t } from './strings.js'

export interface Maintenance {
  phase: 'none' | 'scheduled' | 'active' | 'ended'
  from?: string
  until?: string
  message?: { en?: string, 'zh-CN'?: string }
}

const when = (iso: string | undefined) => iso === undefined ? '' : formatDateTime(iso, locale)

export function describeMaintenance (m: Maintenance): string {
  const message = m.message?.[locale] ?? m.message?.en ?? ''
  switch (m.phase) {
    case 'active': return t('maintenanceActive', { until: when(m.until), message })
    case 'scheduled': return t('maintenanceScheduled', { from: when(m.from), until: when(m.until), message })
    case 'ended': return t('maintenanceEnded', { until: when(m.until) })
    default: return t('maintenanceNone')
  }
}

/** datetime-local holds the operator's local time without a zone: the browser knows the zone. */
const toIso = (local: string) => new Date(local).toISOString()

export function startMaintenanceForm (changed: () => void): { render: (m: Maintenance) => void } {
  const form = byId<HTMLFormElement>('maintenance-form')
  const status = byId('maintenance-status')
  const now = byId('maintenance-now')

  form.addEventListener('submit', event => {
    event.preventDefault()
    const f = fieldsOf(form)
    const message = { ...(f.en ? { en: f.en } : {}), ...(f.zh ? { 'zh-CN': f.zh } : {}) }
    const body = { ...(f.from ? { from: toIso(f.from) } : {}), until: toIso(f.until ?? ''), ...(Object.keys(message).length ? { message } : {}) }
    admin<Maintenance>('/admin/maintenance', { method: 'PUT', json: body }).then(result => {
      if (!result.ok) return showProblem(status, result.problem)
      showMessage(status, t('maintenanceSet', { what: describeMaintenance(result.body) }), 'success')
      changed()
    })
  })

  byId('end-maintenance').addEventListener('click', () => {
    admin<Maintenance>('/admin/maintenance', { method: 'DELETE' }).then(result => {
      if (!result.ok) return showProblem(status, result.problem)
      showMessage(status, t('maintenanceStopped'), 'success')
      changed()
    })
  })

  return {
    render (m) {
      // Only when it changes: the region is live, and a refresh every few seconds must stay quiet.
      const text = describeMaintenance(m)
      if (now.textContent !== text) now.textContent = text
    }
  }
}
