// Overview: what an SRE looks at first in an incident. Status, providers, maintenance and the
// per-minute chart, refreshed every few seconds while the view is open, without a reload.
import { byId, el, table } from '../shared/dom.js'
import { formatDateTime } from '../shared/i18n.js'
import { showProblem } from '../shared/problem-view.js'
import { admin } from './admin-api.js'
import { stackedBars, type Minute } from './chart.js'
import { type Maintenance, startMaintenanceForm } from './maintenance.js'
import { locale, t } from './strings.js'

interface Status {
  version: string
  mode: string
  uptimeSeconds: number
  redis: string
  breakers: { authBackend: string }
  otpProviders: Array<{ name: string, channels: string[], priority: number, breaker: string, score: number }>
  maintenance: Maintenance
  rules: { version: string, origin: string }
  admission: { inFlight: number, readmission: { startedAt?: number, share: number } }
}

const REFRESH_MS = 5000

const stateText = (state: string) => el('span', { class: `state-${state}` }, state)

function facts (s: Status): Node[] {
  const ramp = s.admission.readmission
  const rows: Array<[string, Node | string]> = [
    [t('mode'), s.mode],
    [t('version'), s.version],
    [t('uptime'), t('seconds', { n: s.uptimeSeconds })],
    [t('redis'), stateText(s.redis)],
    [t('authBreaker'), stateText(s.breakers.authBackend)],
    [t('rulesVersion'), `${s.rules.version} (${s.rules.origin})`],
    [t('inFlight'), String(s.admission.inFlight)],
    [t('readmission'), ramp.startedAt === undefined ? t('noRamp') : t('ramp', { percent: Math.round(ramp.share * 100), since: formatDateTime(new Date(ramp.startedAt).toISOString(), locale) })]
  ]
  return rows.flatMap(([name, value]) => [el('dt', {}, name), el('dd', {}, value)])
}

function providers (s: Status): HTMLTableElement {
  return table([t('provider'), t('channels'), t('priority'), t('breaker'), t('health')],
    s.otpProviders.map(p => [p.name, p.channels.join(', '), String(p.priority), stateText(p.breaker), p.score.toFixed(2)]))
}

export function createOverviewView () {
  const status = byId('overview-status')
  const maintenance = startMaintenanceForm(() => { refresh() })
  let timer: number | undefined

  async function refresh (): Promise<void> {
    const [s, stats] = await Promise.all([admin<Status>('/admin/status'), admin<{ minutes: Minute[] }>('/admin/stats?minutes=15')])
    if (!s.ok) return showProblem(status, s.problem)
    byId('status-facts').replaceChildren(...facts(s.body))
    byId('provider-table').replaceChildren(providers(s.body))
    maintenance.render(s.body.maintenance)
    if (stats.ok) {
      byId('logins-chart').replaceChildren(...stackedBars(stats.body.minutes, m => m.logins, t('loginsChart')))
      byId('problems-chart').replaceChildren(...stackedBars(stats.body.minutes, m => m.problems, t('problemsChart')))
    }
    byId('overview-updated').textContent = t('updated', { time: formatDateTime(new Date().toISOString(), locale) })
  }

  return {
    show (): void {
      refresh()
      // A background tab stops asking: an incident can leave a console open for hours.
      timer = window.setInterval(() => { if (document.visibilityState === 'visible') refresh() }, REFRESH_MS)
    },
    hide (): void {
      window.clearInterval(timer)
      timer = undefined
    }
  }
}
