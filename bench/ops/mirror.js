'use strict'
// Child: mirrorDynamicPlugins of a config to a registry; reports the mirror
// alone (config parse, copy, rewrite), without node's start-up.
// usage: node mirror.js <config> <host/prefix>

const { report, since } = require('../lib/measure')
const { mirrorDynamicPlugins } = require(process.env.BENCH_DYNPACK_API || '../../lib/api.js')

async function main () {
  const [config, to] = process.argv.slice(2)
  const t0 = process.hrtime.bigint()
  const r = await mirrorDynamicPlugins(config, { to, src: { tlsVerify: false }, dest: { tlsVerify: false } })
  report({ seconds: since(t0), images: r.images.length, bytesUploaded: r.images.reduce((n, i) => n + i.bytesUploaded, 0) })
}

main().catch((err) => { console.error(err); process.exit(1) })
