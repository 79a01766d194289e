'use strict'
// Option parsing shared by the commands: Node's util.parseArgs with
// dynpack's usage errors (code E_USAGE, exit status 2) instead of Node's.

const { parseArgs } = require('node:util')

/** Options every command accepts. */
const COMMON_OPTIONS = {
  quiet: { type: 'boolean', short: 'q' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
}

function usageError (message, command) {
  const hint = command ? `; see \`dynpack ${command} --help\`` : '; see `dynpack --help`'
  const e = new Error(message + hint)
  e.code = 'E_USAGE'
  return e
}

/**
 * Parses `argv` against `options` (util.parseArgs format, merged with the
 * common options). `positionals` bounds the number of positional arguments.
 * `variadic` names options that, as in commander's `--opt <v...>`, also take
 * the KEY=VALUE arguments that follow them. Throws E_USAGE errors that name
 * the command's help.
 */
function parse (command, argv, options, { min = 0, max = Infinity, variadic = [] } = {}) {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...COMMON_OPTIONS, ...options },
      allowPositionals: max > 0 || variadic.length > 0,
      strict: true,
      tokens: true,
    })
  } catch (err) {
    let message = parseErrorMessage(err)
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const given = /^unknown option (--?[^=\s]*)/.exec(message)?.[1] ?? ''
      const guess = closest(given.replace(/^-+/, ''), Object.keys({ ...COMMON_OPTIONS, ...options }))
      if (guess) message += `; did you mean --${guess}?`
    }
    throw usageError(message, command)
  }
  const { values } = parsed
  const positionals = []
  let open = null
  for (const t of parsed.tokens) {
    if (t.kind === 'option') open = variadic.includes(t.name) && !t.inlineValue ? t.name : null
    else if (t.kind === 'positional' && open && /^[^=]+=/.test(t.value)) values[open].push(t.value)
    else if (t.kind === 'positional') { positionals.push(t.value); open = null } else open = null
  }
  if (values.quiet && values.verbose) throw usageError('--quiet and --verbose exclude each other', command)
  if (positionals.length < min) {
    throw usageError(min === 1 ? 'missing argument' : `expected at least ${min} arguments, got ${positionals.length}`, command)
  }
  if (positionals.length > max) {
    throw usageError(`unexpected argument ${JSON.stringify(positionals[max])}`, command)
  }
  for (const [name, value] of Object.entries(values)) {
    const spec = options[name]
    if (spec && spec.type === 'string' && !spec.allowEmpty) {
      for (const v of [].concat(value)) {
        if (v === '') throw usageError(`--${name} needs a non-empty value`, command)
      }
    }
  }
  return { values, positionals }
}

/** Node's parseArgs messages are long and mention JavaScript; say it shortly. */
function parseErrorMessage (err) {
  const m = /'(-[^']*)'/.exec(err.message)
  const opt = m ? m[1].replace(/ <value>$/, '') : ''
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${opt}`
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/argument missing/.test(err.message)) return `${opt} needs a value`
      if (/ambiguous/.test(err.message)) return `${opt} needs a value (write ${opt}=VALUE if the value starts with -)`
      return `${opt} takes no value`
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${JSON.stringify(/'([^']*)'/.exec(err.message)?.[1] ?? '')}`
    default:
      return err.message
  }
}

/** Edit distance (insertions, deletions, substitutions, adjacent swaps) between two short words. */
function distance (a, b) {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0][j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[a.length][b.length]
}

/**
 * The candidate `word` was most likely meant to be, or null: the nearest by
 * edit distance, within a third of its length (at least 1), or one that
 * starts with it (`--pack` for `--pack-destination`). Ties: null.
 */
function closest (word, candidates) {
  if (!word) return null
  const w = word.toLowerCase()
  const prefixed = candidates.filter((c) => c.startsWith(w))
  if (prefixed.length === 1) return prefixed[0]
  const limit = Math.max(1, Math.floor(w.length / 3))
  let best = null
  let bestDistance = Infinity
  let tie = false
  for (const c of candidates) {
    const dist = distance(w, c)
    if (dist < bestDistance) { best = c; bestDistance = dist; tie = false } else if (dist === bestDistance) tie = true
  }
  return bestDistance <= limit && !tie ? best : null
}

/** Turns repeated `--flag key=value` options into an object (last one wins). */
function keyValues (list, flag, command) {
  const out = {}
  for (const item of list ?? []) {
    const at = item.indexOf('=')
    if (at <= 0) throw usageError(`--${flag} ${JSON.stringify(item)}: expected key=value`, command)
    out[item.slice(0, at)] = item.slice(at + 1)
  }
  return out
}

module.exports = { parse, keyValues, usageError, closest, COMMON_OPTIONS }
