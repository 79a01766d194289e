'use strict'
// Where CLI output goes. Results go to stdout; notes and warnings to stderr
// (silenced by --quiet); progress to stderr only when it is a terminal;
// details to stderr with --verbose. Scripts can therefore parse stdout.

const path = require('node:path')

class Reporter {
  /**
   * @param {{stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream, isTTY?: boolean}} io
   * @param {{quiet?: boolean, verbose?: boolean}} flags
   */
  constructor (io, flags = {}) {
    this.io = io
    this.quiet = Boolean(flags.quiet)
    this.verbose = Boolean(flags.verbose)
    this.showProgress = Boolean(io.isTTY) && !this.quiet
  }

  /** A result line (or lines) on stdout. */
  out (text = '') {
    this.io.stdout.write(text.endsWith('\n') ? text : text + '\n')
  }

  /** Something the user should know that is not the result, e.g. a skipped workspace. */
  note (text) {
    if (!this.quiet) this.io.stderr.write(`dynpack: ${text}\n`)
  }

  warn (text) {
    if (!this.quiet) this.io.stderr.write(`dynpack: warning: ${text}\n`)
  }

  /** Progress for a person watching; never written to a pipe or a file. */
  progress (text) {
    if (this.showProgress || this.verbose) this.io.stderr.write(`dynpack: ${text}\n`)
  }

  /** Details shown with --verbose only. */
  detail (text) {
    if (this.verbose) this.io.stderr.write(text.endsWith('\n') ? text : text + '\n')
  }
}

/** `1.2 kB`, as npm prints sizes (decimal units). */
function formatBytes (n) {
  if (n < 1000) return `${n} B`
  const units = ['kB', 'MB', 'GB', 'TB']
  let v = n
  let u = -1
  do { v /= 1000; u++ } while (v >= 1000 && u < units.length - 1)
  return `${v.toFixed(1)} ${units[u]}`
}

/** `p` relative to `cwd` when it lies inside it (`.` for cwd itself), else absolute. */
function displayPath (cwd, p) {
  const rel = path.relative(cwd, p)
  if (rel === '') return '.'
  return rel.startsWith('..') || path.isAbsolute(rel) ? p : rel
}

/** Quotes an argument for a POSIX shell only when it needs it. */
function shellQuote (arg) {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg
  return `'${arg.replace(/'/g, `'\\''`)}'`
}

/** Stable JSON for scripts: 2-space indentation and a final newline. */
function json (value) {
  return JSON.stringify(value, null, 2) + '\n'
}

module.exports = { Reporter, formatBytes, displayPath, shellQuote, json }
