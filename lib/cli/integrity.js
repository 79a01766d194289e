'use strict'
// `dynpack integrity`: the SRI string RHDH's `integrity:` field wants, as
// `openssl dgst -sha512 -binary FILE | openssl base64 -A` would give it.

const path = require('node:path')
const { parse } = require('./args.js')
const { Reporter, json } = require('./report.js')

const OPTIONS = {
  algorithm: { type: 'string', short: 'a', multiple: true },
  json: { type: 'boolean' },
}

/** The algorithms RHDH's installer accepts in `integrity`. */
const RHDH_ALGORITHMS = new Set(['sha512', 'sha384', 'sha256'])

const usage = `Usage: dynpack integrity FILE... [--algorithm ALG]... [--json]

Prints the Subresource Integrity string (sha512-<base64>) of each FILE: the
value of \`integrity:\` in dynamic-plugins.yaml. With one FILE, prints just the
string; with several, one "SRI  FILE" line each.

Options:
  -a, --algorithm ALG   sha512 (default), sha384, sha256 or sha1; repeat it (or
                        separate with commas) for a multi-hash string. RHDH
                        accepts exactly one of sha512, sha384 or sha256.
      --json            print [{"file", "integrity"}] instead
  -q, --quiet           no notes on stderr
      --verbose         more details on errors
  -h, --help            show this help

Exit status: 0 on success, 1 when a file cannot be read, 2 on a usage error.`

async function run (argv, io) {
  const { values, positionals } = parse('integrity', argv, OPTIONS, { min: 1 })
  const cwd = io.cwd ?? process.cwd()
  const report = new Reporter(io, values)
  const algorithms = (values.algorithm ?? ['sha512']).flatMap((a) => a.split(',')).map((a) => a.trim().toLowerCase()).filter(Boolean)
  const api = require('../api.js')
  const sris = await Promise.all(positionals.map((f) => api.computeIntegrity(path.resolve(cwd, f), { algorithms, signal: io.signal })))
  if (algorithms.length > 1 || !RHDH_ALGORITHMS.has(algorithms[0])) {
    report.note(`RHDH accepts a single sha512, sha384 or sha256 hash in integrity:, not ${algorithms.join(' + ')}`)
  }
  if (values.json) {
    io.stdout.write(json(positionals.map((file, i) => ({ file, integrity: sris[i] }))))
  } else if (positionals.length === 1) {
    report.out(sris[0])
  } else {
    report.out(positionals.map((f, i) => `${sris[i]}  ${f}`).join('\n'))
  }
  return 0
}

module.exports = { name: 'integrity', summary: 'print the integrity (sha512-…) of files, for dynamic-plugins.yaml', usage, run }
