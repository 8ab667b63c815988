// Rules: the set in force, its version, per-rule hits (enforced and shadow), and a mode switch
// per rule (PATCH keeps the file's comments and order). The editor is in rules-editor.ts.
import { byId, el, table } from '../shared/dom.js'
import { formatDateTime } from '../shared/i18n.js'
import { showMessage, showProblem } from '../shared/problem-view.js'
import { admin } from './admin-api.js'
import { startRulesEditor } from './rules-editor.js'
import { locale, t } from './strings.js'

interface RuleRow {
  id: string
  description: string
  action: string
  mode: 'enforce' | 'shadow' | 'canary'
  canaryPercent?: number
  expires?: string
  hits: { enforced: number, shadow: number }
}
export interface RuleSet { version: string, origin: string, loadedAt: string, rules: RuleRow[], source: string }

const MODES = ['shadow', 'canary', 'enforce'] as const
const DEFAULT_CANARY_PERCENT = 10

export function createRulesView () {
  const status = byId('rules-status')
  const editor = startRulesEditor({ status, replaced: () => { load() } })

  function modeSwitch (rule: RuleRow): HTMLElement {
    const select = el('select', { 'aria-label': t('modeOf', { id: rule.id }), 'data-rule': rule.id },
      ...MODES.map(mode => el('option', { value: mode, selected: mode === rule.mode }, t(`mode_${mode}`))))
    select.addEventListener('change', () => { setMode(rule.id, select.value as RuleRow['mode']) })
    const canary = rule.mode === 'canary' ? ` ${rule.canaryPercent ?? DEFAULT_CANARY_PERCENT}%` : ''
    return el('span', {}, select, canary)
  }

  function row (rule: RuleRow) {
    return [
      el('span', {}, el('code', {}, rule.id), el('small', { class: 'description' }, ` ${rule.description}`)),
      rule.action,
      modeSwitch(rule),
      el('span', { 'data-hits': rule.id }, String(rule.hits.enforced)),
      el('span', { 'data-shadow-hits': rule.id }, String(rule.hits.shadow)),
      rule.expires ?? ''
    ]
  }

  async function setMode (id: string, mode: RuleRow['mode']): Promise<void> {
    const body = { mode, ...(mode === 'canary' ? { canaryPercent: DEFAULT_CANARY_PERCENT } : {}) }
    const result = await admin<{ version: string }>(`/admin/rules/${encodeURIComponent(id)}`, { method: 'PATCH', json: body })
    if (!result.ok) return showProblem(status, result.problem)
    const set = await load()
    // RULES_SHADOW_ONLY (demo mode's default) runs every rule in shadow whatever the file says.
    const held = set !== undefined && set.rules.find(r => r.id === id)?.mode !== mode
    showMessage(status, t(held ? 'modeHeldInShadow' : 'modeSwitched', { id, mode: t(`mode_${mode}`), version: result.body.version }), held ? 'info' : 'success')
  }

  async function load (): Promise<RuleSet | undefined> {
    const result = await admin<RuleSet>('/admin/rules')
    if (!result.ok) {
      showProblem(status, result.problem)
      return undefined
    }
    const set = result.body
    byId('rules-version').textContent = t('rulesInForce', { version: set.version, origin: set.origin, loadedAt: formatDateTime(set.loadedAt, locale), count: set.rules.length })
    byId('rules-table').replaceChildren(set.rules.length === 0
      ? el('p', {}, t('noRules'))
      : table([t('rule'), t('action'), t('ruleMode'), t('hits'), t('shadowHits'), t('expires')], set.rules.map(row)))
    editor.showSource(set)
    return set
  }

  return { show: () => { load() }, hide: () => undefined }
}
