'use strict'
// Child: packDynamic of many folders at once (Promise.all), timed in-process.
// usage: node pack-dynamic-many.js <destination> <npm|fast> <dir>...

const { report, since } = require('../lib/measure')
const { packDynamic } = require(process.env.BENCH_DYNPACK_API || '../../lib/api.js')

async function main () {
  const [destination, compression, ...dirs] = process.argv.slice(2)
  const t0 = process.hrtime.bigint()
  const results = await Promise.all(dirs.map((dir) => packDynamic(dir, { destination, compression })))
  report({ seconds: since(t0), size: results.reduce((a, r) => a + r.size, 0), packages: results.length })
}

main().catch((err) => { console.error(err); process.exit(1) })
