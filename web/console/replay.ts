// Replay: a recorded decision log (uploaded, or this gateway's recent decisions) evaluated
// under candidate rules (uploaded or edited here). Per rule: what it would block, challenge or
// step up, and how many of those then logged in: the likely false positives.
import { byId, el, table } from '../shared/dom.js'
import { clearRegion, showMessage, showProblem } from '../shared/problem-view.js'
import { admin } from './admin-api.js'
import type { Decision } from './decisions.js'
import type { RuleSet } from './rules.js'
import { t } from './strings.js'

interface RuleStats {
  id: string
  mode: string
  action: string
  matches: number
  wouldBlock: number
  wouldChallenge: number
  wouldStepUp: number
  shadowMatches: number
  likelyFalsePositives: number
  shadowFalsePositives: number
}
interface Report { decisions: number, skippedLines: number, rules: RuleStats[], changed: unknown[] }

const lineCount = (text: string) => text.split('\n').filter(l => l.trim() !== '').length

function report (r: Report): Node[] {
  const rows = r.rules.map(s => [el('code', {}, s.id), s.mode, s.action, String(s.matches), String(s.wouldBlock), String(s.wouldChallenge), String(s.wouldStepUp), String(s.shadowMatches), String(s.likelyFalsePositives), String(s.shadowFalsePositives)])
  return [
    el('p', { class: 'message' }, t('replaySummary', { decisions: r.decisions, skipped: r.skippedLines, changed: r.changed.length })),
    table([t('rule'), t('ruleMode'), t('action'), t('matches'), t('wouldBlock'), t('wouldChallenge'), t('wouldStepUp'), t('shadowMatches'), t('likelyFalsePositives'), t('shadowFalsePositives')], rows, t('replayCaption'))
  ]
}

export function createReplayView () {
  const form = byId<HTMLFormElement>('replay-form')
  const rules = byId<HTMLTextAreaElement>('replay-rules')
  const note = byId('replay-log-note')
  const status = byId('replay-status')
  let log = ''

  byId<HTMLInputElement>('replay-log').addEventListener('change', event => {
    const file = (event.target as HTMLInputElement).files?.[0]
    file?.text().then(text => {
      log = text
      note.textContent = t('logLoaded', { lines: lineCount(text), name: file.name })
    })
  })
  byId<HTMLInputElement>('replay-rules-file').addEventListener('change', event => {
    (event.target as HTMLInputElement).files?.[0]?.text().then(text => { rules.value = text })
  })
  byId('replay-recent').addEventListener('click', () => {
    admin<{ decisions: Decision[] }>('/admin/decisions?limit=1000').then(result => {
      if (!result.ok) return showProblem(status, result.problem)
      log = result.body.decisions.map(d => JSON.stringify(d)).join('\n')
      note.textContent = t('logRecent', { lines: result.body.decisions.length })
    })
  })

  form.addEventListener('submit', event => {
    event.preventDefault()
    if (log === '') return showMessage(status, t('logMissing'))
    showMessage(status, t('replaying'))
    admin<Report>('/admin/replay', { method: 'POST', json: { log, rules: rules.value } }).then(result => {
      if (!result.ok) {
        byId('replay-result').replaceChildren()
        return showProblem(status, result.problem)
      }
      clearRegion(status)
      byId('replay-result').replaceChildren(...report(result.body))
    })
  })

  return {
    // The candidate starts as the rules in force: the usual change is a small edit of them.
    show (): void {
      if (rules.value !== '') return
      admin<RuleSet>('/admin/rules').then(result => { if (result.ok && rules.value === '') rules.value = result.body.source })
    },
    hide: () => undefined
  }
}
