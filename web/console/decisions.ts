// Decisions: the recent decision log, newest first, filtered by verdict (or outcome), rule,
// IP and masked user, as GET /admin/decisions does it.
import { byId, el, fieldsOf, table } from '../shared/dom.js'
import { formatDateTime } from '../shared/i18n.js'
import { clearRegion, showMessage, showProblem } from '../shared/problem-view.js'
import { admin } from './admin-api.js'
import { locale, t } from './strings.js'

export interface Decision {
  requestId: string
  time: string
  user: string
  features: { ip: string, userAgent?: string }
  verdict: { action: string, ruleId?: string, enforced: string[], shadowed: string[] }
  limit?: string
  outcome: string
}

const UA_CHARS = 48

function row (d: Decision) {
  const ua = d.features.userAgent ?? ''
  return [
    formatDateTime(d.time, locale),
    el('code', {}, d.user),
    d.features.ip,
    d.verdict.ruleId ? `${d.verdict.action} (${d.verdict.ruleId})` : d.verdict.action,
    d.verdict.shadowed.join(', '),
    d.limit ?? '',
    d.outcome,
    el('span', { title: ua }, ua.length > UA_CHARS ? `${ua.slice(0, UA_CHARS)}…` : ua)
  ]
}

export function createDecisionsView () {
  const form = byId<HTMLFormElement>('decisions-form')
  const status = byId('decisions-status')

  async function load (): Promise<void> {
    const query = new URLSearchParams(fieldsOf(form))
    const result = await admin<{ decisions: Decision[] }>(`/admin/decisions?${query.toString()}`)
    if (!result.ok) return showProblem(status, result.problem)
    const { decisions } = result.body
    if (decisions.length === 0) showMessage(status, t('noDecisions'))
    else clearRegion(status)
    byId('decisions-table').replaceChildren(decisions.length === 0
      ? ''
      : table([t('time'), t('user'), t('ip'), t('verdictColumn'), t('shadowed'), t('limitColumn'), t('outcome'), t('userAgent')], decisions.map(row), t('decisionsShown', { n: decisions.length })))
  }

  form.addEventListener('submit', event => {
    event.preventDefault()
    load()
  })
  return { show: () => { load() }, hide: () => undefined }
}
