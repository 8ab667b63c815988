// A small stacked bar chart per minute, drawn as SVG (no library, nothing for the CSP to
// allow). The legend carries each series' total in words, so the numbers never depend on
// seeing the colours; the SVG has a text summary for screen readers.
import { el } from '../shared/dom.js'
import { formatTime } from '../shared/i18n.js'
import { locale, t } from './strings.js'

export interface Minute { minute: string, logins: Record<string, number>, problems: Record<string, number> }

const W = 480
const H = 150
const PAD = 22
const SERIES_CLASSES = 8
const SVG_NS = 'http://www.w3.org/2000/svg'

function svg (tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const node = document.createElementNS(SVG_NS, tag)
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value))
  if (text !== undefined) node.textContent = text
  return node
}

export function stackedBars (minutes: Minute[], pick: (m: Minute) => Record<string, number>, title: string): Node[] {
  const keys = [...new Set(minutes.flatMap(m => Object.keys(pick(m)).filter(k => (pick(m)[k] ?? 0) > 0)))].sort()
  if (keys.length === 0) return [el('p', { class: 'chart-empty' }, t('chartEmpty'))]
  const totals = keys.map(key => minutes.reduce((sum, m) => sum + (pick(m)[key] ?? 0), 0))
  const max = Math.max(1, ...minutes.map(m => Object.values(pick(m)).reduce((a, b) => a + b, 0)))
  const summary = `${title}: ${keys.map((key, i) => `${key} ${totals[i]}`).join(', ')}`
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': summary, class: 'bars' })
  const slot = (W - PAD) / minutes.length
  minutes.forEach((m, i) => {
    let y = H - PAD
    keys.forEach((key, k) => {
      const value = pick(m)[key] ?? 0
      if (value <= 0) return
      const height = value / max * (H - 2 * PAD)
      y -= height
      const bar = svg('rect', { x: PAD + i * slot + 1, y, width: Math.max(1, slot - 2), height, class: `series-${k % SERIES_CLASSES}` })
      bar.append(svg('title', {}, `${formatTime(m.minute, locale)} ${key}: ${value}`))
      chart.append(bar)
    })
  })
  chart.append(
    svg('line', { x1: PAD, y1: H - PAD, x2: W, y2: H - PAD, class: 'axis' }),
    svg('text', { x: 0, y: PAD, class: 'tick' }, String(max)),
    svg('text', { x: PAD, y: H - 6, class: 'tick' }, formatTime(minutes[0]?.minute ?? '', locale)),
    svg('text', { x: W, y: H - 6, class: 'tick end' }, formatTime(minutes.at(-1)?.minute ?? '', locale)))
  const legend = el('ul', { class: 'legend' }, ...keys.map((key, k) =>
    el('li', { 'data-series': key }, el('span', { class: `swatch series-${k % SERIES_CLASSES}`, 'aria-hidden': 'true' }), `${key}: ${totals[k]}`)))
  return [chart, legend]
}
