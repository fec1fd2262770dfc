/** Minimal DOM construction helper: views are plain functions over state, no framework needed for a few screens. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | number | undefined> = {},
  ...children: (Node | string | null | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c);
  }
  return el;
}

/**
 * A line of text as sentences that wrap only between each other (styles.css `.phrase`): Chinese breaks between any
 * two characters, and the visitor's big lines split "禁止通 / 行" and "工作人 / 员" (hand checks, stops 28-29). The
 * text itself is unchanged.
 */
export function phrases(text: string): Node[] {
  // A sentence ends at Chinese end punctuation, or at . ! ? before a space (not inside "J.Smith" or "0.45").
  return text.split(/(?<=[。！？])(\s*)|(?<=[.!?])(\s+)/).flatMap((part: string | undefined, i): Node[] => {
    if (part === undefined) return []; // the alternative that did not match
    return i % 3 === 0 ? [h('span', { class: 'phrase' }, part)] : [document.createTextNode(part)];
  });
}
