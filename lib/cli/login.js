'use strict'
// `dynpack login`: checks credentials against a registry and stores them in
// the auth.json podman and skopeo read, for runners without podman.

const { parse, usageError } = require('./args.js')
const { Reporter } = require('./report.js')
const { registryOptions } = require('./push.js')

const OPTIONS = {
  username: { type: 'string', short: 'u' },
  'password-stdin': { type: 'boolean' },
  authfile: { type: 'string' },
  'cert-dir': { type: 'string' },
  'tls-verify': { type: 'string' },
}

const usage = `Usage: dynpack login HOST -u USER --password-stdin [--authfile FILE]

Checks the credentials against the registry HOST (host[:port]) and stores
them as \`podman login\` does: in REGISTRY_AUTH_FILE, else
$XDG_RUNTIME_DIR/containers/auth.json, else ~/.config/containers/auth.json
(mode 0600). The password is read from standard input, never from argv.

Options:
  -u, --username USER     the user name
      --password-stdin    read the password (or token) from standard input
      --authfile FILE     the auth.json to write
      --cert-dir DIR      CA certificates for the registry
      --tls-verify=false  accept any certificate and fall back to plain HTTP
  -h, --help              show this help`

async function readStdin (stream) {
  const chunks = []
  for await (const c of stream) chunks.push(c)
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
}

async function run (argv, io) {
  const { values, positionals } = parse('login', argv, OPTIONS, { min: 1, max: 1 })
  const cwd = io.cwd ?? process.cwd()
  const report = new Reporter(io, values)
  if (!values.username) throw usageError('pass the user name with -u USER', 'login')
  if (!values['password-stdin']) throw usageError('pass the password on standard input with --password-stdin', 'login')
  const password = await readStdin(io.stdin ?? process.stdin)
  if (password === '') throw usageError('standard input held no password', 'login')
  const api = require('../api.js')
  const file = await api.registryLogin(positionals[0], values.username, password, { ...registryOptions(values, cwd, 'login'), signal: io.signal })
  report.note(`credentials for ${positionals[0]} stored in ${file}`)
  report.out('Login Succeeded!')
  return 0
}

module.exports = { name: 'login', summary: 'store registry credentials in auth.json (as podman login)', usage, run }
