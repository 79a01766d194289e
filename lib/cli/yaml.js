'use strict'
// The little YAML dynpack prints: the `plugins:` list of dynamic-plugins.yaml.
// Node has no YAML parser, so a plugin's app-config file is not parsed: its
// text is re-indented under `pluginConfig:`, which keeps comments, anchors and
// block scalars exactly as written.

const RESERVED = /^(?:true|false|yes|no|on|off|y|n|null|~|[-+]?(?:\.inf|\.nan)|[-+]?[0-9][0-9_.:eExXoObB+-]*)$/i

/** A YAML scalar for `value`: plain when unambiguous, JSON double-quoted otherwise. */
function scalar (value) {
  if (typeof value === 'boolean' || typeof value === 'number') return String(value)
  if (value === null || value === undefined) return 'null'
  const s = String(value)
  const plain = /^[A-Za-z0-9_./][A-Za-z0-9_./:@!+=~%-]*$/.test(s) && !RESERVED.test(s)
  return plain ? s : JSON.stringify(s)
}

/**
 * The YAML text of an app-config file, ready to sit under a key at `indent`
 * spaces, or null when the file holds no content (empty or comments only).
 * Only the first YAML document is kept; a `---` start marker is dropped.
 */
function reindent (text, indent) {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/)
  const out = []
  let seen = false
  for (const line of lines) {
    if (/^(?:---|\.\.\.)(?:\s|$)/.test(line)) {
      if (seen) break
      continue
    }
    if (!seen && /^%/.test(line)) continue
    seen = seen || isContent(line)
    out.push(line)
  }
  while (out.length && out[out.length - 1].trim() === '') out.pop()
  while (out.length && out[0].trim() === '') out.shift()
  if (!out.some(isContent)) return null
  const pad = ' '.repeat(indent)
  return out.map((l) => (l.trim() === '' ? '' : pad + l.replace(/\s+$/, ''))).join('\n')
}

function isContent (line) {
  const t = line.trim()
  return t !== '' && !t.startsWith('#')
}

/**
 * The `plugins:` list of dynamic-plugins.yaml. Each entry:
 * `{ package, comments?: string[] (lines shown as `# …` under package), integrity?, pluginConfig?: string (raw YAML) }`.
 */
function pluginsYaml (entries) {
  const lines = ['plugins:']
  for (const e of entries) {
    lines.push(`  - package: ${scalar(e.package)}`)
    for (const c of e.comments ?? []) lines.push(`    # ${c}`)
    if (e.integrity) lines.push(`    integrity: ${scalar(e.integrity)}`)
    lines.push('    disabled: false')
    if (e.pluginConfig != null) {
      const body = reindent(e.pluginConfig, 6)
      if (body != null) lines.push('    pluginConfig:', body)
    }
  }
  return lines.join('\n') + '\n'
}

module.exports = { scalar, reindent, pluginsYaml }
