'use strict'
// Child: buildOciLayout of a plugin source folder into a fresh OCI layout.
// usage: node oci-build.js <plugin folder> <output layout> <tag>

const { report, since } = require('../lib/measure')
const { buildOciLayout } = require(process.env.BENCH_DYNPACK_API || '../../lib/api.js')

async function main () {
  const [plugin, output, tag] = process.argv.slice(2)
  const t0 = process.hrtime.bigint()
  const r = await buildOciLayout(plugin, { output, tag })
  report({ seconds: since(t0), manifestDigest: r.manifestDigest, layerSize: r.layerSize })
}

main().catch((err) => { console.error(err); process.exit(1) })
