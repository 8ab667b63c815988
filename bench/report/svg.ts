// Inline SVG charts (pure functions returning markup): the HTML report must open offline,
// so no chart library and no CDN.

export interface Series {
  name: string
  color: string
  /** [x seconds, y]; y undefined leaves a gap. */
  points: ReadonlyArray<readonly [number, number | undefined]>
}

export interface Band {
  from: number
  to: number
  label: string
}

export interface LineChartOptions {
  title: string
  unit: string
  xMax: number
  series: readonly Series[]
  bands?: readonly Band[]
  /** Fixed top of the y axis (e.g. 100 for percentages); otherwise from the data. */
  yMax?: number
}

const W = 860
const H = 240
const PAD = { left: 56, right: 150, top: 28, bottom: 30 }
const PLOT_W = W - PAD.left - PAD.right
const PLOT_H = H - PAD.top - PAD.bottom

export const escapeXml = (s: string): string => s.replace(/[<>&"']/g, c => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c] ?? c)

/** A round number at or above `v` for the top of an axis. */
export function niceMax (v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) return 1
  const exp = 10 ** Math.floor(Math.log10(v))
  const m = [1, 2, 2.5, 5, 10].find(s => s * exp >= v) ?? 10
  return m * exp
}

const fmt = (v: number) => Number.isInteger(v) ? String(v) : String(Number(v.toFixed(2)))

function frame (title: string, unit: string, xMax: number, yMax: number, bands: readonly Band[]): string[] {
  const x = (s: number) => PAD.left + (s / Math.max(1, xMax)) * PLOT_W
  const parts = [`<text x="${PAD.left}" y="18" class="title">${escapeXml(title)}</text>`]
  for (const b of bands) {
    const x0 = x(b.from)
    const width = Math.max(1, x(b.to) - x0)
    parts.push(`<rect x="${x0.toFixed(1)}" y="${PAD.top}" width="${width.toFixed(1)}" height="${PLOT_H}" class="band"><title>${escapeXml(b.label)}</title></rect>`,
      `<text x="${(x0 + 3).toFixed(1)}" y="${PAD.top + 12}" class="band-label">${escapeXml(b.label)}</text>`)
  }
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4
    const y = PAD.top + PLOT_H - (i / 4) * PLOT_H
    parts.push(`<line x1="${PAD.left}" x2="${PAD.left + PLOT_W}" y1="${y}" y2="${y}" class="grid"/>`, `<text x="${PAD.left - 6}" y="${y + 4}" class="axis" text-anchor="end">${fmt(v)}</text>`)
  }
  const step = niceMax(xMax / 8)
  for (let s = 0; s <= xMax; s += step) parts.push(`<text x="${x(s).toFixed(1)}" y="${H - 10}" class="axis" text-anchor="middle">${fmt(s)}s</text>`)
  parts.push(`<text x="12" y="${PAD.top + PLOT_H / 2}" class="axis" transform="rotate(-90 12 ${PAD.top + PLOT_H / 2})" text-anchor="middle">${escapeXml(unit)}</text>`)
  return parts
}

export function lineChart (o: LineChartOptions): string {
  const values = o.series.flatMap(s => s.points.map(p => p[1])).filter((v): v is number => v !== undefined && Number.isFinite(v))
  const yMax = o.yMax ?? niceMax(Math.max(0, ...values))
  const x = (s: number) => PAD.left + (s / Math.max(1, o.xMax)) * PLOT_W
  const y = (v: number) => PAD.top + PLOT_H - (Math.min(v, yMax) / yMax) * PLOT_H
  const parts = frame(o.title, o.unit, o.xMax, yMax, o.bands ?? [])
  o.series.forEach((s, i) => {
    let d = ''
    let pen = 'M'
    for (const [px, py] of s.points) {
      if (py === undefined || !Number.isFinite(py)) { pen = 'M'; continue }
      d += `${pen}${x(px).toFixed(1)},${y(py).toFixed(1)} `
      pen = 'L'
    }
    if (d !== '') parts.push(`<path d="${d.trim()}" fill="none" stroke="${s.color}" stroke-width="1.8"><title>${escapeXml(s.name)}</title></path>`)
    parts.push(`<rect x="${W - PAD.right + 12}" y="${PAD.top + i * 18}" width="10" height="10" fill="${s.color}"/>`, `<text x="${W - PAD.right + 26}" y="${PAD.top + i * 18 + 9}" class="legend">${escapeXml(s.name)}</text>`)
  })
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeXml(o.title)}">${parts.join('')}</svg>`
}

export interface StateRow {
  name: string
  /** [x seconds, state] at each sample; a state holds until the next one. */
  states: ReadonlyArray<readonly [number, string]>
}

const STATE_COLORS: Record<string, string> = { closed: '#2e9d5b', half_open: '#e0a21b', open: '#d64541', ok: '#2e9d5b', fail: '#d64541', hang: '#8e44ad' }

export function stateChart (title: string, xMax: number, rows: readonly StateRow[], bands: readonly Band[] = []): string {
  const rowH = 22
  const height = PAD.top + rows.length * rowH + PAD.bottom
  const x = (s: number) => PAD.left + 90 + (s / Math.max(1, xMax)) * (PLOT_W - 90)
  const parts = [`<text x="${PAD.left}" y="18" class="title">${escapeXml(title)}</text>`]
  rows.forEach((row, i) => {
    const top = PAD.top + i * rowH
    parts.push(`<text x="${PAD.left + 84}" y="${top + 15}" class="axis" text-anchor="end">${escapeXml(row.name)}</text>`)
    row.states.forEach(([s, state], k) => {
      const next = row.states[k + 1]?.[0] ?? xMax
      parts.push(`<rect x="${x(s).toFixed(1)}" y="${top + 3}" width="${Math.max(1, x(next) - x(s)).toFixed(1)}" height="${rowH - 6}" fill="${STATE_COLORS[state] ?? '#999'}"><title>${escapeXml(`${row.name}: ${state} from ${s}s`)}</title></rect>`)
    })
  })
  // Fault windows as outlines on top: a shaded band would hide under the state colours.
  for (const b of bands) parts.push(`<rect x="${x(b.from).toFixed(1)}" y="${PAD.top - 2}" width="${Math.max(1, x(b.to) - x(b.from)).toFixed(1)}" height="${rows.length * rowH + 4}" class="band-outline"><title>${escapeXml(b.label)}</title></rect>`)
  Object.entries({ closed: 'closed', half_open: 'half-open', open: 'open' }).forEach(([state, label], i) => {
    parts.push(`<rect x="${W - PAD.right + 12}" y="${PAD.top + i * 18}" width="10" height="10" fill="${STATE_COLORS[state] ?? '#999'}"/>`, `<text x="${W - PAD.right + 26}" y="${PAD.top + i * 18 + 9}" class="legend">${label}</text>`)
  })
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${height}" role="img" aria-label="${escapeXml(title)}">${parts.join('')}</svg>`
}
