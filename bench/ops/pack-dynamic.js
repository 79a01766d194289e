'use strict'
// Child: packDynamic of one folder, timed in-process, while a 10 ms interval
// timer records how late the main thread lets it fire.
// usage: node pack-dynamic.js <dir> <destination> <npm|fast>

const { performance } = require('node:perf_hooks')
const { report, since } = require('../lib/measure')
const { packDynamic } = require(process.env.BENCH_DYNPACK_API || '../../lib/api.js')

async function main () {
  const [dir, destination, compression] = process.argv.slice(2)
  let lateMs = 0
  let last = performance.now()
  const timer = setInterval(() => {
    const now = performance.now()
    lateMs = Math.max(lateMs, now - last - 10)
    last = now
  }, 10)
  const t0 = process.hrtime.bigint()
  const r = await packDynamic(dir, { destination, compression })
  const seconds = since(t0)
  clearInterval(timer)
  report({ seconds, lateMs, size: r.size, entryCount: r.entryCount, unpackedSize: r.unpackedSize, integrity: r.integrity })
}

main().catch((err) => { console.error(err); process.exit(1) })
