// Renders a problem document the way a good client should: the gateway's localised title and
// detail, the maintenance end in the reader's time zone, a live countdown for retryAfter,
// buttons for the alternatives it offers, field errors, and the request id for support.
import { el } from './dom.js'
import type { FieldError, ProblemDoc } from './http.js'
import { createTranslator, formatTime } from './i18n.js'

const { t, locale } = createTranslator({
  en: {
    networkError: 'The gateway could not be reached. Check the connection and try again.',
    unexpected: 'Unexpected answer (HTTP {status}).',
    retryIn: 'You can try again in {seconds} s.',
    retryNow: 'You can try again now.',
    until: 'Maintenance ends at {time}.',
    alternative: 'Send by {channel} instead',
    requestId: 'Request id: {id}',
    sms: 'SMS',
    voice: 'voice call',
    email: 'email'
  },
  'zh-CN': {
    networkError: '无法连接网关，请检查网络后重试。',
    unexpected: '意外的应答（HTTP {status}）。',
    retryIn: '{seconds} 秒后可重试。',
    retryNow: '现在可以重试了。',
    until: '维护预计于 {time} 结束。',
    alternative: '改用{channel}发送',
    requestId: '请求编号：{id}',
    sms: '短信',
    voice: '语音电话',
    email: '电子邮件'
  }
})

export interface ProblemOptions {
  /** Offered channels (`alternatives`) become buttons calling this. */
  onAlternative?: (channel: string) => void
}

const countdowns = new WeakMap<HTMLElement, number>()

export function channelName (channel: string): string {
  return channel === 'sms' || channel === 'voice' || channel === 'email' ? t(channel) : channel
}

export function showProblem (region: HTMLElement, problem: ProblemDoc, options: ProblemOptions = {}): void {
  stopCountdown(region)
  const title = problem.title || (problem.code === 'network_error' ? t('networkError') : t('unexpected', { status: problem.status }))
  const parts: Node[] = [el('p', { class: 'problem-title' }, el('strong', {}, title))]
  if (problem.detail) parts.push(el('p', { class: 'problem-detail' }, problem.detail))
  if (problem.until) parts.push(untilLine(problem.until))
  if (problem.errors?.length) parts.push(fieldErrors(problem.errors))
  if (problem.alternatives?.length && options.onAlternative) parts.push(alternativeButtons(problem.alternatives, options.onAlternative))
  if (problem.retryAfter) parts.push(countdown(region, problem.retryAfter))
  if (problem.requestId) parts.push(el('p', { class: 'request-id' }, t('requestId', { id: problem.requestId })))
  // role=alert: a refusal is announced at once, unlike the polite status messages.
  region.replaceChildren(el('div', { class: 'problem', role: 'alert', 'data-code': problem.code }, ...parts))
}

export function showMessage (region: HTMLElement, text: string, kind: 'info' | 'success' = 'info'): void {
  stopCountdown(region)
  region.replaceChildren(el('p', { class: `message ${kind}` }, text))
}

export function clearRegion (region: HTMLElement): void {
  stopCountdown(region)
  region.replaceChildren()
}

function untilLine (until: string): HTMLElement {
  const [before, after = ''] = t('until', { time: '\u0000' }).split('\u0000')
  return el('p', { class: 'until' }, before, el('time', { datetime: until }, formatTime(until, locale)), after)
}

function fieldErrors (errors: FieldError[]): HTMLElement {
  return el('ul', { class: 'field-errors' }, ...errors.map(e => el('li', {}, el('code', {}, e.field), `: ${e.message ?? e.reason}`)))
}

function alternativeButtons (channels: string[], onAlternative: (channel: string) => void): HTMLElement {
  const buttons = channels.map(channel => {
    const button = el('button', { type: 'button', 'data-channel': channel }, t('alternative', { channel: channelName(channel) }))
    button.addEventListener('click', () => { onAlternative(channel) })
    return button
  })
  return el('div', { class: 'buttons' }, ...buttons)
}

/** Counts down to 0 from the Retry-After; its own updates stay silent (aria-live off). */
function countdown (region: HTMLElement, seconds: number): HTMLElement {
  const line = el('p', { class: 'countdown', 'aria-live': 'off' })
  const deadline = Date.now() + seconds * 1000
  const tick = () => {
    const left = Math.ceil((deadline - Date.now()) / 1000)
    line.textContent = left > 0 ? t('retryIn', { seconds: left }) : t('retryNow')
    if (left <= 0) stopCountdown(region)
  }
  countdowns.set(region, window.setInterval(tick, 1000))
  tick()
  return line
}

function stopCountdown (region: HTMLElement): void {
  window.clearInterval(countdowns.get(region))
  countdowns.delete(region)
}
