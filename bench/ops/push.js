'use strict'
// Child: pushOciImage of a layout to a registry; reports the push alone.
// usage: node push.js <layout> <tag>

const { report, since } = require('../lib/measure')
const { pushOciImage } = require(process.env.BENCH_DYNPACK_API || '../../lib/api.js')

async function main () {
  const [layout, tag] = process.argv.slice(2)
  const t0 = process.hrtime.bigint()
  const r = await pushOciImage(layout, { tag, tlsVerify: false })
  report({ seconds: since(t0), digest: r.digest, bytesUploaded: r.bytesUploaded })
}

main().catch((err) => { console.error(err); process.exit(1) })
