'use strict'
// `dynpack verify`: checks a file against an integrity string, as RHDH's
// installer does before it installs a tgz plugin.

const path = require('node:path')
const { parse } = require('./args.js')
const { Reporter, json } = require('./report.js')

const OPTIONS = {
  json: { type: 'boolean' },
}

const usage = `Usage: dynpack verify FILE SRI [--json]

Checks that FILE matches the integrity string SRI (e.g. the integrity: of a
dynamic-plugins.yaml entry). When SRI holds several hashes, the strongest
algorithm decides, as in npm. Prints "FILE: OK" and exits 0 on a match; on a
mismatch prints the integrity the file actually has on stderr and exits 1.

Options:
      --json       print {"file", "ok", "expected", "actual"} on stdout: on a
                   match "ok": true (and "integrity"), on a mismatch "ok": false
                   with the integrity the file has as "actual" (exit 1)
  -q, --quiet      print nothing on success
      --verbose    more details on errors
  -h, --help       show this help

Exit status: 0 when the file matches, 1 on a mismatch or an unreadable file or
a malformed SRI, 2 on a usage error.`

const STRENGTH = ['sha1', 'sha256', 'sha384', 'sha512']

/** The strongest algorithm named in an SRI string (the one that decides). */
function strongestAlgorithm (sri) {
  let best = null
  for (const token of sri.trim().split(/\s+/)) {
    const alg = token.split('-')[0].toLowerCase()
    if (STRENGTH.indexOf(alg) > STRENGTH.indexOf(best)) best = alg
  }
  return best ?? 'sha512'
}

async function run (argv, io) {
  const { values, positionals } = parse('verify', argv, OPTIONS, { min: 2, max: 2 })
  const [file, sri] = positionals
  const cwd = io.cwd ?? process.cwd()
  const report = new Reporter(io, values)
  const abs = path.resolve(cwd, file)
  const api = require('../api.js')
  const ok = await api.verifyIntegrity(abs, sri)
  if (!ok) {
    const actual = await api.computeIntegrity(abs, { algorithms: [strongestAlgorithm(sri)] })
    if (values.json) io.stdout.write(json({ file, ok: false, expected: sri.trim(), actual }))
    const e = new Error(`${file}: integrity mismatch: the file has ${actual}, expected ${sri.trim()}; ` +
      'the file is not the one the integrity was computed for: download or pack it again, or update the integrity')
    e.code = 'E_INTEGRITY_MISMATCH'
    throw e
  }
  if (values.json) {
    const actual = await api.computeIntegrity(abs, { algorithms: [strongestAlgorithm(sri)] })
    io.stdout.write(json({ file, integrity: sri.trim(), ok: true, expected: sri.trim(), actual }))
  }
  else if (!values.quiet) report.out(`${file}: OK`)
  return 0
}

module.exports = { name: 'verify', summary: 'check a file against an integrity string', usage, run }
