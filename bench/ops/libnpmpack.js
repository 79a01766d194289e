'use strict'
// Child: npm's own packer (libnpmpack, as bundled with the npm CLI) called
// in-process, without the CLI's startup, config loading and output.
// usage: node libnpmpack.js <libnpmpack folder> <dir> <destination>

const { report, since } = require('../lib/measure')

async function main () {
  const [libnpmpack, dir, destination] = process.argv.slice(2)
  const pack = require(libnpmpack)
  const t0 = process.hrtime.bigint()
  const tarball = await pack(dir, { dryRun: false, packDestination: destination, ignoreScripts: true })
  report({ seconds: since(t0), size: tarball.length })
}

main().catch((err) => { console.error(err); process.exit(1) })
