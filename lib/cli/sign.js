'use strict'
// `dynpack sign`: a cosign signature for an image in a registry, pushed to
// the `sha256-<hex>.sig` tag beside it. `signPushed` is shared with
// `dynpack package --push --sign-key`.

const fs = require('node:fs')
const path = require('node:path')
const { parse, usageError } = require('./args.js')
const { Reporter, json } = require('./report.js')
const { REGISTRY_OPTIONS, REGISTRY_HELP, registryOptions } = require('./push.js')

const OPTIONS = {
  key: { type: 'string' },
  json: { type: 'boolean' },
  ...REGISTRY_OPTIONS,
}

const usage = `Usage: dynpack sign REF --key cosign.key [--json] [registry options]

Signs the image REF (host/repository:tag or host/repository@sha256:...) in
its registry as \`cosign sign --key\` does: the simple-signing payload names
the repository and the manifest digest the registry serves, it is signed with
the ECDSA P-256 key, and the signature goes to the tag sha256-<hex>.sig of
the same repository (signatures already there are kept). cosign, sigstore and
containers' sigstoreSigned policy (with use-sigstore-attachments) verify it.

The passphrase of an encrypted key comes from COSIGN_PASSWORD; without it,
dynpack asks on the terminal (nothing is echoed). Keys and passphrases are
never printed.

Options:
      --key FILE        the private key: cosign.key (from \`dynpack keygen\` or
                        \`cosign generate-key-pair\`) or a PKCS#8 PEM
      --json            print the result object
${REGISTRY_HELP}
  -q, --quiet           no notes on stderr
      --verbose         more details on errors
  -h, --help            show this help

Exit status: 0 on success, 1 on failure, 2 on a usage error.`

/** Is the key file an encrypted cosign key (so a passphrase is needed)? */
function isEncrypted (keyPath) {
  try {
    const fd = fs.openSync(keyPath, 'r')
    try {
      const head = Buffer.alloc(64)
      const n = fs.readSync(fd, head, 0, 64, 0)
      return /^-----BEGIN ENCRYPTED (SIGSTORE|COSIGN) PRIVATE KEY-----/.test(head.subarray(0, n).toString('latin1'))
    } finally { fs.closeSync(fd) }
  } catch {
    return false // the signing call reports the unreadable file
  }
}

/** The passphrase: COSIGN_PASSWORD, else asked once on a TTY, else none. */
async function passphraseFor (keyPath, io) {
  const env = io.env ?? process.env
  if (env.COSIGN_PASSWORD !== undefined) return env.COSIGN_PASSWORD
  if (!isEncrypted(keyPath)) return undefined
  const stdin = io.stdin ?? process.stdin
  if (!stdin.isTTY) {
    const e = new Error(`${keyPath}: the key is encrypted; set COSIGN_PASSWORD to its passphrase (there is no terminal to ask on)`)
    e.code = 'E_KEY'
    throw e
  }
  const { askHidden } = require('./keygen.js')
  return askHidden(`Enter password for private key ${path.basename(keyPath)}: `, io)
}

/** One line per signature pushed. */
function describeSign (r) {
  return r.upToDate
    ? `${r.reference} is already signed with this key (${r.signatureTag})`
    : `signed ${r.reference}: ${r.signatureTag} (${r.signatures} signature${r.signatures === 1 ? '' : 's'})`
}

/**
 * Asks for the passphrase of `keyPath` once and checks that it opens the key
 * (by signing a throwaway payload; nothing is pushed), so that
 * `package --push --sign-key` fails with E_KEY before it builds or pushes.
 * Resolves to the passphrase (undefined for a plain key).
 */
async function unlockKey (keyPath, io) {
  const passphrase = await passphraseFor(keyPath, io)
  const api = require('../api.js')
  await api.cosignSign({ key: keyPath, passphrase, reference: 'localhost/dynpack-key-check', digest: 'sha256:' + '0'.repeat(64) })
  return passphrase
}

/**
 * `dynpack package --push --sign-key`: signs every image that was pushed
 * (`images[i].pushed`), one after the other, with the key `unlockKey` opened.
 * Sets `image.signed` and resolves to the failures [{ label, error }].
 */
async function signPushed (images, values, { cwd, report, signal, passphrase }) {
  const key = path.resolve(cwd, values['sign-key'])
  const options = { ...registryOptions(values, cwd, 'package'), key, signal }
  if (passphrase !== undefined) options.passphrase = passphrase
  const api = require('../api.js')
  const failures = []
  for (const image of images.filter((i) => i.pushed)) {
    try {
      image.signed = await api.signOciImage(image.pushed.reference, options)
      report.note(describeSign(image.signed))
    } catch (error) {
      failures.push({ label: `sign ${image.pushed.reference}`, error })
    }
  }
  return failures
}

async function run (argv, io) {
  const { values, positionals } = parse('sign', argv, OPTIONS, { min: 1, max: 1 })
  const cwd = io.cwd ?? process.cwd()
  const report = new Reporter(io, values)
  if (values.key === undefined) throw usageError('--key FILE is required (the cosign.key to sign with)', 'sign')
  const key = path.resolve(cwd, values.key)
  const options = { ...registryOptions(values, cwd, 'sign'), key, signal: io.signal }
  const passphrase = await passphraseFor(key, io)
  if (passphrase !== undefined) options.passphrase = passphrase
  const api = require('../api.js')
  const r = await api.signOciImage(positionals[0], options)
  if (values.json) {
    io.stdout.write(json(r))
  } else {
    report.note(describeSign(r))
    report.out(r.signatureTag)
  }
  return 0
}

module.exports = { name: 'sign', summary: 'sign an image in a registry with a cosign key (sha256-<hex>.sig)', usage, run, signPushed, unlockKey, describeSign, passphraseFor }
