// The demo outbox: what the demo providers "sent", newest first, polled while the page is
// visible. Only new messages are added, so the live region announces each one once.
import { byId, el } from '../shared/dom.js'
import { callApi } from '../shared/http.js'
import { formatTime } from '../shared/i18n.js'
import { channelName } from '../shared/problem-view.js'
import { locale, t } from './strings.js'

interface OutboxMessage { id: string, at: string, provider: string, channel: string, to: string, text: string }

const POLL_MS = 2000
const KEEP = 50

export function startOutbox (): { refresh: () => void } {
  const list = byId<HTMLOListElement>('outbox')
  const empty = byId('outbox-empty')
  const shown = new Set<string>()

  function item (m: OutboxMessage): HTMLLIElement {
    const meta = t('messageMeta', { channel: channelName(m.channel), provider: m.provider, to: m.to, time: formatTime(m.at, locale) })
    return el('li', { 'data-provider': m.provider, 'data-channel': m.channel }, el('span', { class: 'meta' }, meta), el('span', { class: 'text' }, m.text))
  }

  async function refresh (): Promise<void> {
    const result = await callApi<{ messages: OutboxMessage[] }>('/demo/outbox')
    if (!result.ok) return
    const fresh = result.body.messages.filter(m => !shown.has(m.id))
    for (const m of fresh.reverse()) {
      shown.add(m.id)
      list.prepend(item(m))
    }
    while (list.children.length > KEEP) list.lastElementChild?.remove()
    empty.hidden = list.children.length > 0
  }

  refresh()
  window.setInterval(() => { if (document.visibilityState === 'visible') refresh() }, POLL_MS)
  return { refresh: () => { refresh() } }
}
