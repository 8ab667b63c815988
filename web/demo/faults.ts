// The demo fault switches (PUT /demo/faults): each change sends only the switch that moved, so
// that toggling a provider never ends a maintenance window the console set.
import { byId, el } from '../shared/dom.js'
import { callApi } from '../shared/http.js'
import { showMessage, showProblem } from '../shared/problem-view.js'
import { t } from './strings.js'

interface Faults {
  backend: 'up' | 'down' | 'slow'
  providers: Array<{ name: string, channels: string[], down: boolean }>
  maintenance: boolean
}

const POLL_MS = 5000

export function startFaultSwitches (): void {
  const form = byId<HTMLFormElement>('faults-form')
  const providers = byId('provider-switches')
  const maintenance = byId<HTMLInputElement>('maintenance-switch')
  const status = byId('faults-status')

  function checkbox (p: Faults['providers'][number]): HTMLLabelElement {
    return el('label', { class: 'inline' }, el('input', { type: 'checkbox', name: 'provider', value: p.name }), t('providerDown', { name: p.name, channels: p.channels.join(', ') }))
  }

  // Updates the switches in place: rebuilding them would take the keyboard focus away.
  function render (f: Faults): void {
    if (providers.children.length !== f.providers.length) providers.replaceChildren(...f.providers.map(checkbox))
    for (const input of form.querySelectorAll<HTMLInputElement>('input[name="backend"]')) input.checked = input.value === f.backend
    for (const input of providers.querySelectorAll<HTMLInputElement>('input')) input.checked = f.providers.some(p => p.name === input.value && p.down)
    maintenance.checked = f.maintenance
  }

  function changeOf (input: HTMLInputElement): Record<string, unknown> {
    if (input.name === 'backend') return { backend: input.value }
    if (input.name === 'maintenance') return { maintenance: input.checked }
    return { providersDown: [...providers.querySelectorAll<HTMLInputElement>('input:checked')].map(i => i.value) }
  }

  async function load (): Promise<void> {
    const result = await callApi<Faults>('/demo/faults')
    if (result.ok) render(result.body)
  }

  form.addEventListener('change', event => {
    const change = changeOf(event.target as HTMLInputElement)
    callApi<Faults>('/demo/faults', { method: 'PUT', json: change }).then(result => {
      if (!result.ok) return showProblem(status, result.problem)
      render(result.body)
      const down = result.body.providers.filter(p => p.down).map(p => p.name)
      showMessage(status, t('faultsNow', { backend: t(`backend${result.body.backend === 'up' ? 'Up' : result.body.backend === 'down' ? 'Down' : 'Slow'}`), providers: down.length ? down.join(', ') : t('none'), maintenance: result.body.maintenance ? t('on') : t('off') }))
    })
  })

  load()
  window.setInterval(() => { if (document.visibilityState === 'visible') load() }, POLL_MS)
}
