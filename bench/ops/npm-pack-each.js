'use strict'
// Child: `npm pack` of each folder, one after another, as a user (or a
// script) packs the plugins of a monorepo today.
// usage: node npm-pack-each.js <npm command> <destination> <dir>...

const { spawnSync } = require('node:child_process')
const { report, since } = require('../lib/measure')

const [npm, destination, ...dirs] = process.argv.slice(2)
const t0 = process.hrtime.bigint()
for (const dir of dirs) {
  const r = spawnSync(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', destination], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
  if (r.status !== 0) {
    process.stderr.write(`npm pack failed in ${dir}: ${r.stderr}`)
    process.exit(1)
  }
}
report({ seconds: since(t0), packages: dirs.length })
