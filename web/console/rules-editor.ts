// The rule editor: submit a whole new set (YAML or JSON). When the gateway refuses it, each
// error is shown under the rule it names (its number, id and line in the text), with the field
// and the reason, and a button that selects that rule in the editor. The set in force is untouched.
import { byId, el } from '../shared/dom.js'
import type { FieldError } from '../shared/http.js'
import { showMessage, showProblem } from '../shared/problem-view.js'
import { admin } from './admin-api.js'
import type { RuleSet } from './rules.js'
import { t } from './strings.js'

interface ErrorGroup { index?: number, ruleId?: string, errors: Array<{ field: string, message: string }> }

/** `rules[2].when.ip` → rule 2, field `when.ip`; anything else belongs to the whole document. */
export function groupErrors (errors: FieldError[]): ErrorGroup[] {
  const groups = new Map<string, ErrorGroup>()
  for (const e of errors) {
    const match = /^rules\[(\d+)\]\.?(.*)$/.exec(e.field)
    const index = match ? Number(match[1]) : undefined
    const key = index === undefined ? 'document' : String(index)
    const group = groups.get(key) ?? { ...(index === undefined ? {} : { index }), errors: [] }
    if (e.ruleId !== undefined) group.ruleId = e.ruleId
    group.errors.push({ field: match ? (match[2] || 'rule') : e.field, message: e.message ?? e.reason })
    groups.set(key, group)
  }
  return [...groups.values()].sort((a, b) => (a.index ?? -1) - (b.index ?? -1))
}

/** The 0-based line where the rule starts: by its id if the error names it, else the n-th `- id:`. */
export function ruleLine (source: string, group: ErrorGroup): number | undefined {
  const lines = source.split('\n')
  const id = group.ruleId?.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const byRuleId = id === undefined ? -1 : lines.findIndex(l => new RegExp(`^\\s*-?\\s*id:\\s*['"]?${id}['"]?\\s*(#.*)?$`).test(l))
  if (byRuleId >= 0) return byRuleId
  let seen = -1
  const nth = lines.findIndex(l => /^\s*-\s+id:/.test(l) && ++seen === group.index)
  return nth >= 0 ? nth : undefined
}

export function startRulesEditor (o: { status: HTMLElement, replaced: () => void }) {
  const form = byId<HTMLFormElement>('rules-form')
  const source = byId<HTMLTextAreaElement>('rules-source')
  const errors = byId('rules-errors')
  let inForce: RuleSet | undefined
  let dirty = false

  function select (line: number): void {
    const lines = source.value.split('\n')
    const start = lines.slice(0, line).reduce((n, l) => n + l.length + 1, 0)
    source.focus()
    source.setSelectionRange(start, start + (lines[line]?.length ?? 0))
  }

  function groupView (group: ErrorGroup): HTMLElement {
    const line = group.index === undefined ? undefined : ruleLine(source.value, group)
    const heading = group.index === undefined
      ? t('documentErrors')
      : t('ruleErrors', { n: group.index + 1, id: group.ruleId ?? '?', line: line === undefined ? '?' : line + 1 })
    const goTo = line === undefined ? null : el('button', { type: 'button', class: 'secondary' }, t('showInEditor'))
    goTo?.addEventListener('click', () => { select(line ?? 0) })
    return el('section', { class: 'rule-errors', 'data-rule-index': String(group.index ?? ''), 'data-rule-id': group.ruleId ?? '' },
      el('h4', {}, heading),
      el('ul', {}, ...group.errors.map(e => el('li', {}, el('code', {}, e.field), `: ${e.message}`))),
      goTo)
  }

  form.addEventListener('submit', event => {
    event.preventDefault()
    admin<{ version: string }>('/admin/rules', { method: 'PUT', text: source.value, contentType: 'application/yaml' }).then(result => {
      if (result.ok) {
        errors.replaceChildren()
        dirty = false
        showMessage(o.status, t('rulesReplaced', { version: result.body.version }), 'success')
        return o.replaced()
      }
      const fieldErrors = result.problem.errors ?? []
      if (fieldErrors.length === 0) return showProblem(errors, result.problem)
      errors.replaceChildren(el('p', { role: 'alert' }, t('rulesRefused', { version: inForce?.version ?? '?' })), ...groupErrors(fieldErrors).map(groupView))
    })
  })
  source.addEventListener('input', () => { dirty = true })
  byId('rules-reset').addEventListener('click', () => {
    dirty = false
    errors.replaceChildren()
    if (inForce) source.value = inForce.source
  })

  return {
    /** Shows the set in force, unless the operator is editing a candidate. */
    showSource (set: RuleSet): void {
      inForce = set
      if (!dirty) source.value = set.source
    }
  }
}
