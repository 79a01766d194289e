'use strict'
// Child: sha512 of a file with node:crypto over a read stream, the way a
// JavaScript tool computes an SRI today.
// usage: node node-crypto.js <file>

const crypto = require('node:crypto')
const fs = require('node:fs')
const { pipeline } = require('node:stream/promises')
const { report, since } = require('../lib/measure')

async function main () {
  const t0 = process.hrtime.bigint()
  const hash = crypto.createHash('sha512')
  await pipeline(fs.createReadStream(process.argv[2], { highWaterMark: 1024 * 1024 }), hash)
  report({ seconds: since(t0), sri: 'sha512-' + hash.digest('base64') })
}

main().catch((err) => { console.error(err); process.exit(1) })
