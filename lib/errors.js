'use strict'
// The shapes of dynpack's errors (a stable `code`, a message naming the file
// and the fix) and the argument checks every API function shares. Required by
// lib/api.js, lib/folders.js and lib/publish.js; requires none of them.

const NAPI_ARGUMENT_CODES = new Set([
  'InvalidArg', 'ObjectExpected', 'StringExpected', 'NameExpected', 'FunctionExpected',
  'NumberExpected', 'BooleanExpected', 'ArrayExpected', 'BigintExpected',
])

/** Rewrites `E_CODE: message` from Rust into `error.code` + `error.message`. */
function toDynpackError (err) {
  if (!(err instanceof Error)) return err
  const m = /^(E_[A-Z0-9_]+): ([\s\S]*)$/.exec(err.message)
  if (m) {
    const e = new Error(m[2])
    e.code = m[1]
    return e
  }
  if (NAPI_ARGUMENT_CODES.has(err.code)) {
    // A conversion the JS checks above did not catch: name the option, never the Rust type.
    const field = / on \w+\.(\w+)/.exec(err.message)?.[1]
    const e = new Error(field ? `options.${field} has the wrong type` : 'an argument has the wrong type')
    e.code = 'E_INVALID_OPTION'
    return e
  }
  return err
}

function dynpackError (code, message) {
  const e = new Error(message)
  e.code = code
  return e
}

/** How a value is named in an argument error: its type, never an internal one. */
function typeName (v) {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (Buffer.isBuffer(v)) return 'a Buffer'
  return typeof v === 'object' ? 'an object' : `${typeof v === 'undefined' ? '' : 'the ' + typeof v + ' '}${typeof v === 'string' ? JSON.stringify(v) : String(v)}`.trim()
}

/**
 * Checks `options` of `fn` against `spec` ({ key: rule }) before the addon
 * sees them, so that a wrong type is reported in dynpack's words (the addon's
 * own conversion errors name Rust types). Rules: 'boolean', 'string',
 * 'function', 'strings' (array of strings), 'stringMap' (object of strings),
 * or an array of the allowed values. Unknown keys are left alone.
 */
function checkOptions (options, spec, fn) {
  if (options === undefined || options === null) return {}
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw dynpackError('E_INVALID_OPTION', `${fn}: options must be an object, not ${typeName(options)}`)
  }
  for (const [key, rule] of Object.entries(spec)) {
    const v = options[key]
    if (v === undefined) continue
    let ok
    let want
    if (Array.isArray(rule)) { ok = rule.includes(v); want = rule.map((r) => JSON.stringify(r).replace(/"/g, "'")).join(' or ') } else if (rule === 'strings') { ok = Array.isArray(v) && v.every((x) => typeof x === 'string'); want = 'an array of strings' } else if (rule === 'stringMap') { ok = v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string'); want = 'an object of string values' } else { ok = typeof v === rule; want = rule === 'boolean' ? 'true or false' : `a ${rule}` }
    if (ok) continue
    const at = Array.isArray(v) && rule === 'strings' ? v.findIndex((x) => typeof x !== 'string') : -1
    if (at >= 0) throw dynpackError('E_INVALID_OPTION', `${fn}: options.${key}[${at}] must be a string, not ${typeName(v[at])}`)
    throw dynpackError('E_INVALID_OPTION', `${fn}: options.${key} must be ${want}, not ${typeName(v)}`)
  }
  return options
}

module.exports = { dynpackError, toDynpackError, typeName, checkOptions }
