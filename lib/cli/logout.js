'use strict'
// `dynpack logout`: removes a registry's credentials from auth.json.

const { parse } = require('./args.js')
const { Reporter } = require('./report.js')

const OPTIONS = { authfile: { type: 'string' } }

const usage = `Usage: dynpack logout HOST [--authfile FILE]

Removes the credentials for HOST from the auth.json \`dynpack login\` and
\`podman login\` write. Exit status 1 when there were none.

Options:
      --authfile FILE   the auth.json to edit
  -h, --help            show this help`

async function run (argv, io) {
  const { values, positionals } = parse('logout', argv, OPTIONS, { min: 1, max: 1 })
  const path = require('node:path')
  const report = new Reporter(io, values)
  const api = require('../api.js')
  const authfile = values.authfile ? path.resolve(io.cwd ?? process.cwd(), values.authfile) : undefined
  const { removed, file } = await api.registryLogout(positionals[0], { authfile })
  if (!removed) {
    const e = new Error(`not logged in to ${positionals[0]} (no entry in ${file})`)
    e.code = 'E_NOT_LOGGED_IN'
    throw e
  }
  report.out(`Removed login credentials for ${positionals[0]}`)
  return 0
}

module.exports = { name: 'logout', summary: 'remove registry credentials from auth.json', usage, run }
