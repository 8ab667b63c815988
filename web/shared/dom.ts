// Tiny DOM helpers. Elements are built from text nodes only, never innerHTML, so nothing a
// server or a user sends can turn into markup (and the CSP needs no exception).

export type Child = Node | string | null | undefined | false

export function el<K extends keyof HTMLElementTagNameMap> (tag: K, attrs: Record<string, string | boolean> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== false) node.setAttribute(name, value === true ? '' : value)
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) node.append(child)
  return node
}

export function byId<T extends HTMLElement = HTMLElement> (id: string): T {
  const node = document.getElementById(id)
  if (node === null) throw new Error(`#${id} is missing from the page`)
  return node as T
}

/** A form's text fields, trimmed; empty ones left out. */
export function fieldsOf (form: HTMLFormElement): Record<string, string> {
  const fields: Record<string, string> = {}
  for (const [name, value] of new FormData(form)) {
    if (typeof value === 'string' && value.trim() !== '') fields[name] = value.trim()
  }
  return fields
}

export function table (headings: string[], rows: Child[][], caption?: string): HTMLTableElement {
  return el('table', {},
    caption === undefined ? null : el('caption', {}, caption),
    el('thead', {}, el('tr', {}, ...headings.map(h => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, ...rows.map(cells => el('tr', {}, ...cells.map(c => el('td', {}, c))))))
}
