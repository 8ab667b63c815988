// The console: the token gate, then five views switched by the URL's hash (#overview, #rules,
// ...), so that the browser's back button and links work and every view is a plain link.
import { byId } from '../shared/dom.js'
import { showMessage, showProblem } from '../shared/problem-view.js'
import { admin, adminToken } from './admin-api.js'
import { createDecisionsView } from './decisions.js'
import { createExplainView } from './explain.js'
import { createOverviewView } from './overview.js'
import { createReplayView } from './replay.js'
import { createRulesView } from './rules.js'
import { t, translatePage } from './strings.js'

export interface View { show: () => void, hide: () => void }

const views: Record<string, View> = {
  overview: createOverviewView(),
  rules: createRulesView(),
  decisions: createDecisionsView(),
  explain: createExplainView(),
  replay: createReplayView()
}
const gate = byId('token-gate')
const nav = byId('views-nav')
const forget = byId('forget-token')
let current: string | undefined

function route (): void {
  const name = location.hash.slice(1) in views ? location.hash.slice(1) : 'overview'
  if (current !== undefined && current !== name) views[current]?.hide()
  for (const section of document.querySelectorAll<HTMLElement>('.view')) section.hidden = section.id !== `view-${name}`
  for (const link of nav.querySelectorAll<HTMLAnchorElement>('a[data-view]')) {
    if (link.dataset.view === name) link.setAttribute('aria-current', 'page')
    else link.removeAttribute('aria-current')
  }
  current = name
  views[name]?.show()
}

function lock (message?: string): void {
  if (current !== undefined) views[current]?.hide()
  current = undefined
  for (const section of document.querySelectorAll<HTMLElement>('.view')) section.hidden = true
  nav.hidden = true
  forget.hidden = true
  gate.hidden = false
  if (message !== undefined) showMessage(byId('token-status'), message)
  byId('admin-token').focus()
}

function unlock (): void {
  gate.hidden = true
  nav.hidden = false
  forget.hidden = false
  route()
  admin<{ mode: string, version: string }>('/admin/status').then(result => {
    if (result.ok) byId('banner-status').textContent = t('bannerStatus', result.body)
  })
}

byId<HTMLFormElement>('token-form').addEventListener('submit', event => {
  event.preventDefault()
  const input = byId<HTMLInputElement>('admin-token')
  adminToken.set(input.value.trim())
  input.value = ''
  // Checked once here, so that a wrong token is said at the gate and not in some view.
  admin('/admin/status').then(result => {
    if (result.ok) return unlock()
    adminToken.clear()
    showProblem(byId('token-status'), result.problem)
  })
})
forget.addEventListener('click', () => {
  adminToken.clear()
  lock(t('tokenForgotten'))
})
adminToken.onRejected(() => {
  adminToken.clear()
  if (!gate.hidden) return
  lock(t('tokenRejected'))
})
window.addEventListener('hashchange', () => { if (gate.hidden) route() })

translatePage()
if (adminToken.get() === null) lock()
else unlock()
