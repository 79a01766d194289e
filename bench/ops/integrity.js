'use strict'
// Child: computeIntegrity of a file (sha512 SRI), timed in-process.
// usage: node integrity.js <file>

const { report, since } = require('../lib/measure')
const { computeIntegrity } = require(process.env.BENCH_DYNPACK_API || '../../lib/api.js')

async function main () {
  const t0 = process.hrtime.bigint()
  const sri = await computeIntegrity(process.argv[2])
  report({ seconds: since(t0), sri })
}

main().catch((err) => { console.error(err); process.exit(1) })
