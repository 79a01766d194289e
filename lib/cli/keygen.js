'use strict'
// `dynpack keygen`: a cosign-compatible key pair, as `cosign generate-key-pair`
// writes it (cosign.key encrypted with scrypt + nacl/secretbox, cosign.pub).

const fs = require('node:fs')
const path = require('node:path')
const readline = require('node:readline')
const { Writable } = require('node:stream')
const { parse } = require('./args.js')
const { Reporter, displayPath, json } = require('./report.js')

const OPTIONS = {
  json: { type: 'boolean' },
}

const usage = `Usage: dynpack keygen [DIR] [--json]

Writes a cosign key pair into DIR (default: the current folder; created
with mode 0700 when it does not exist), as
\`cosign generate-key-pair\` does: cosign.key, an ECDSA P-256 private key
encrypted with a passphrase (mode 0600), and cosign.pub, its public key.
cosign, sigstore and containers' sigstoreSigned policy read both. Existing
files are never overwritten.

The passphrase comes from COSIGN_PASSWORD (which may be empty); without it,
dynpack asks for it twice on the terminal (nothing is echoed). Keys and
passphrases are never printed.

Options:
      --json      print {"privateKey", "publicKey"} (the two paths)
  -q, --quiet     no notes on stderr
  -h, --help      show this help

Exit status: 0 on success, 1 when the keys cannot be written, 2 on a usage error.`

/** Reads a line from the terminal without echoing it. */
function askHidden (question, io) {
  return new Promise((resolve) => {
    const muted = new Writable({ write (_chunk, _enc, cb) { cb() } })
    const rl = readline.createInterface({ input: io.stdin ?? process.stdin, output: muted, terminal: true })
    io.stderr.write(question)
    rl.question('', (answer) => {
      rl.close()
      io.stderr.write('\n')
      resolve(answer)
    })
  })
}

function keyError (message) {
  const e = new Error(message)
  e.code = 'E_KEY'
  return e
}

async function passphrase (io) {
  const env = io.env ?? process.env
  if (env.COSIGN_PASSWORD !== undefined) return env.COSIGN_PASSWORD
  const stdin = io.stdin ?? process.stdin
  if (!stdin.isTTY) throw keyError('set COSIGN_PASSWORD to the passphrase for cosign.key (it may be empty); there is no terminal to ask on')
  const first = await askHidden('Enter password for private key: ', io)
  const second = await askHidden('Enter password for private key again: ', io)
  if (first !== second) throw keyError('the two passwords differ; nothing was written')
  return first
}

/**
 * Creates the folder the keys go to when it does not exist yet (and its
 * parents), readable by its owner only: it is about to hold a private key.
 * Returns whether it created it.
 */
function makeKeyFolder (dir) {
  try {
    if (fs.statSync(dir).isDirectory()) return false
  } catch (err) {
    if (err.code !== 'ENOENT') throw destination(dir, err)
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
      fs.chmodSync(dir, 0o700) // the umask may have taken bits away from mkdir's mode
      return true
    } catch (mkdirErr) {
      throw destination(dir, mkdirErr)
    }
  }
  const e = new Error(`${dir}: not a folder; pass the folder the keys go to (it is created when missing)`)
  e.code = 'E_DESTINATION'
  throw e
}

function destination (dir, err) {
  const e = new Error(`${dir}: cannot create the folder for the keys (${err.code ?? err.message}); pass a writable location`)
  e.code = err.code === 'EACCES' || err.code === 'EPERM' ? 'E_PERMISSION' : 'E_DESTINATION'
  return e
}

async function run (argv, io) {
  const { values, positionals } = parse('keygen', argv, OPTIONS, { max: 1 })
  const cwd = io.cwd ?? process.cwd()
  const report = new Reporter(io, values)
  const dir = path.resolve(cwd, positionals[0] ?? '.')
  const secret = await passphrase(io)
  if (makeKeyFolder(dir)) report.note(`created ${displayPath(cwd, dir)} (mode 0700) for the keys`)
  const api = require('../api.js')
  const r = await api.cosignGenerateKeyPair(dir, { passphrase: secret })
  if (values.json) {
    io.stdout.write(json(r))
    return 0
  }
  report.out(`Private key written to ${displayPath(cwd, r.privateKey)}\nPublic key written to ${displayPath(cwd, r.publicKey)}`)
  return 0
}

module.exports = { name: 'keygen', summary: 'write a cosign key pair (cosign.key, cosign.pub)', usage, run, askHidden }
