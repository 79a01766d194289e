'use strict'
// Where CLI output goes. Results go to stdout; notes and warnings to stderr
// (silenced by --quiet); progress to stderr only when it is a terminal;
// details to stderr with --verbose. Scripts can therefore parse stdout.

const path = require('node:path')

// Text that came from an input (package.json fields, tar entry names, error
// messages that quote them) can hold bytes a terminal obeys: C0 controls
// (ESC starts a sequence that can move the cursor and erase lines), DEL, C1
// controls (U+009B is a one-character CSI) and the bidi marks, embeddings,
// overrides and isolates that reorder what is shown.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g
// eslint-disable-next-line no-control-regex
const UNSAFE_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

function escapeChar (c) {
  const n = c.codePointAt(0)
  return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`
}

/**
 * `text` with every control character and bidi control shown as an escape
 * (`\x1b`, `\x0a`, `\u{202e}`): safe to print on a terminal, and one line.
 */
function escapeControls (text) {
  return String(text).replace(UNSAFE, escapeChar)
}

/** {@link escapeControls}, keeping line breaks (for text of several lines). */
function escapeControlsKeepLines (text) {
  return String(text).replace(UNSAFE_BUT_NEWLINE, escapeChar)
}

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
    this.live = null
  }

  /** Every stderr line goes through here, so that a live status line is cleared first. */
  err (text) {
    if (this.live) this.live.clear()
    this.io.stderr.write(escapeControlsKeepLines(text))
  }

  /**
   * A live status line on stderr: files, bytes and rate per task, redrawn in
   * place at most every 100 ms; only when stderr is a terminal and without
   * --quiet (otherwise every method does nothing and `callback` gives
   * undefined, so the API does not even sample). `callback(label)` is an
   * `onProgress` for packDynamic/buildOciLayout; `update(label, { filesDone,
   * filesTotal, bytesDone, bytesTotal })` is for other work (a push: bytes
   * only); `end()` clears the line.
   */
  liveProgress () {
    if (!this.showProgress) return { callback: () => undefined, update () {}, end () {} }
    const live = new LiveLine(this.io.stderr)
    this.live = live
    return {
      callback: (label) => (event) => live.update(label, event),
      update: (label, event) => live.update(label, event),
      end: () => { live.end(); if (this.live === live) this.live = null },
    }
  }

  /** A result line (or lines) on stdout. */
  out (text = '') {
    const safe = escapeControlsKeepLines(text)
    this.io.stdout.write(safe.endsWith('\n') ? safe : safe + '\n')
  }

  /** Something the user should know that is not the result, e.g. a skipped workspace. */
  note (text) {
    if (!this.quiet) this.err(`dynpack: ${text}\n`)
  }

  warn (text) {
    if (!this.quiet) this.err(`dynpack: warning: ${text}\n`)
  }

  /** Progress for a person watching; never written to a pipe or a file. */
  progress (text) {
    if (this.showProgress || this.verbose) this.err(`dynpack: ${text}\n`)
  }

  /** Details shown with --verbose only. */
  detail (text) {
    if (this.verbose) this.err(text.endsWith('\n') ? text : text + '\n')
  }
}

/** The one redrawn status line behind Reporter.liveProgress. */
class LiveLine {
  constructor (stream) {
    this.stream = stream
    this.tasks = new Map()
    this.started = Date.now()
    this.shown = false
    this.timer = null
  }

  update (label, e) {
    this.tasks.set(label, e)
    if (!this.timer) this.timer = setTimeout(() => { this.timer = null; this.draw() }, 100)
  }

  /**
   * `dynpack: <figures> <names>`, at most `width` characters: the figures (files
   * and bytes of every task, and the rate) come first and are never cut; the
   * names get what is left, a long path keeping its end.
   */
  text (width = Infinity) {
    let filesDone = 0
    let filesTotal = 0
    let counted = false
    let bytesDone = 0
    let bytesTotal = 0
    let sized = true
    const names = []
    for (const [label, e] of this.tasks) {
      if (e.filesTotal != null) {
        counted = true
        filesDone += e.filesDone
        filesTotal += e.filesTotal
      }
      bytesDone += e.bytesDone ?? 0
      if (e.bytesTotal != null) bytesTotal += e.bytesTotal
      else sized = false
      if (!e.done || this.tasks.size === 1) names.push(escapeControls(label))
    }
    const seconds = (Date.now() - this.started) / 1000
    const rate = seconds > 0 ? ` (${formatBytes(Math.round(bytesDone / seconds))}/s)` : ''
    const files = counted ? `${filesDone}/${filesTotal} files, ` : ''
    const size = sized ? `${formatBytes(bytesDone)}/${formatBytes(bytesTotal)}` : formatBytes(bytesDone)
    const done = names.length === 0 || [...this.tasks.values()].every((e) => e.done) ? ' done' : ''
    return fitLine(`dynpack: ${files}${size}${done}${rate}`, names, width)
  }

  draw () {
    const line = this.text((this.stream.columns || 80) - 1)
    this.stream.write(`\r\x1b[K${line}`)
    this.shown = true
  }

  clear () {
    if (this.shown) this.stream.write('\r\x1b[K')
    this.shown = false
    if (this.tasks.size && !this.timer) this.timer = setTimeout(() => { this.timer = null; this.draw() }, 100)
  }

  end () {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    if (this.shown) this.stream.write('\r\x1b[K')
    this.shown = false
    this.tasks.clear()
  }
}

/**
 * `head` followed by the `names` (joined with ", ") in at most `width`
 * characters: `head` is kept whole, one name too long loses its start (a path
 * keeps its last folders), several are cut at the end, all with `…`.
 */
function fitLine (head, names, width = Infinity) {
  if (names.length === 0) return head
  const room = width - head.length - 1
  if (room < 4) return head.length <= width ? head : head.slice(0, Math.max(0, width - 1)) + '…'
  const text = names.join(', ')
  if (text.length <= room) return `${head} ${text}`
  return names.length === 1 ? `${head} …${text.slice(text.length - room + 1)}` : `${head} ${text.slice(0, room - 1)}…`
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

// JSON.stringify escapes C0 controls but leaves C1 and bidi controls raw.
const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

/**
 * Stable JSON for scripts: 2-space indentation and a final newline; every
 * control character escaped (`\u009b`), so that it is inert on a terminal
 * and parses to the same value.
 */
function json (value) {
  return JSON.stringify(value, null, 2).replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n'
}

module.exports = { Reporter, formatBytes, displayPath, shellQuote, json, fitLine, escapeControls }
