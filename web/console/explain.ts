// Explain: which limits and rules hold a username, an address or a device, and until when;
// then the scoped, expiring unblock (POST /admin/unblock, written to the audit log).
import { byId, el, fieldsOf, table } from '../shared/dom.js'
import { formatDateTime } from '../shared/i18n.js'
import { clearRegion, showMessage, showProblem } from '../shared/problem-view.js'
import { admin } from './admin-api.js'
import { locale, t } from './strings.js'

interface Explained {
  subject: { username?: string, ipKey?: string, subnet?: string, device?: string }
  limits: Array<{ limit: string, count: number, budget: number, holds: boolean, until?: string }>
  rules: string[]
  exemptions: Array<{ scope: string, label: string, until: number, reason: string }>
  recentDecisions: unknown[]
}

const SCOPES = ['username', 'ip', 'device'] as const

function limitRow (l: Explained['limits'][number]) {
  return [
    el('code', {}, l.limit),
    `${l.count} / ${l.budget}`,
    l.holds ? el('strong', { class: 'holds' }, t('holdsUntil', { until: formatDateTime(l.until ?? '', locale) })) : t('free')
  ]
}

function render (x: Explained): Node[] {
  const who = [x.subject.username, x.subject.ipKey, x.subject.device].filter(Boolean).join(' · ')
  const held = x.limits.filter(l => l.holds).length
  return [
    el('p', { class: 'message' }, t('explainSummary', { who, held, decisions: x.recentDecisions.length })),
    table([t('limitColumn'), t('countBudget'), t('state')], x.limits.map(limitRow), t('limitsCaption')),
    el('p', {}, t('rulesMatched', { rules: x.rules.length ? x.rules.join(', ') : t('none') })),
    el('p', {}, t('exemptionsNow', {
      exemptions: x.exemptions.length ? x.exemptions.map(e => `${e.scope} ${e.label} → ${formatDateTime(new Date(e.until).toISOString(), locale)} (${e.reason})`).join('; ') : t('none')
    }))
  ]
}

export function createExplainView () {
  const form = byId<HTMLFormElement>('explain-form')
  const status = byId('explain-status')
  const unblock = byId<HTMLFormElement>('unblock-form')
  const scope = byId<HTMLSelectElement>('u-scope')
  let subject: Record<string, string> = {}

  async function lookUp (): Promise<void> {
    const result = await admin<Explained>(`/admin/explain?${new URLSearchParams(subject).toString()}`)
    if (!result.ok) {
      byId('explain-result').replaceChildren()
      unblock.hidden = true
      return showProblem(status, result.problem)
    }
    clearRegion(status)
    byId('explain-result').replaceChildren(...render(result.body))
    scope.replaceChildren(...SCOPES.filter(s => subject[s] !== undefined).map(s => el('option', { value: s }, `${t(s)}: ${subject[s]}`)))
    unblock.hidden = false
  }

  form.addEventListener('submit', event => {
    event.preventDefault()
    subject = fieldsOf(form)
    lookUp()
  })

  unblock.addEventListener('submit', event => {
    event.preventDefault()
    const f = fieldsOf(unblock)
    const key = f.scope ?? 'ip'
    const body = { [key]: subject[key] ?? '', minutes: Number(f.minutes), reason: f.reason ?? '' }
    admin<{ scope: string, subject: string, until: string }>('/admin/unblock', { method: 'POST', json: body }).then(result => {
      const region = byId('unblock-status')
      if (!result.ok) return showProblem(region, result.problem)
      showMessage(region, t('unblocked', { scope: t(key as typeof SCOPES[number]), subject: result.body.subject, until: formatDateTime(result.body.until, locale) }), 'success')
      lookUp()
    })
  })

  return { show: () => undefined, hide: () => undefined }
}
