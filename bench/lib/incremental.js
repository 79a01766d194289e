'use strict'
// The `incremental` group: `dynpack package --push` of the 20-plugin monorepo
// to a loopback docker-registry, one image per plugin, when all 20 plugins
// changed since the last push (baseline), when one did, and when none did.
// A fourth row packages one unchanged plugin alone: the fixed cost of a run
// (Node, the CLI, discovery, the report), so that the marginal cost of an
// unchanged plugin is (none − single) / 19 and that of a changed one
// (all − single + unchanged) / 20.
// Each contender has its own copy of the fixture and its own repositories,
// pushed once untimed in setup; `before` changes the files (untimed).

const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { startRegistry, REGISTRY_BIN } = require('./push')

function incrementalGroup ({ opt, fx, cache, dyn }) {
  const state = { host: null, registry: null, dir: null, rep: 0 }
  const missing = !REGISTRY_BIN ? 'docker-registry is not installed' : (dyn.skip || (dyn.cli && dyn.cli.skip))
  const copy = (who) => path.join(state.dir, who)
  const args = (who) => [dyn.cli.bin, 'package', who === 'single' ? path.join(copy(who), 'plugins', 'p01') : copy(who), '--tag', `${state.host}/bench-${who}/{dir}:v1`, '--push', '--tls-verify=false', '--quiet']
  /** Appends a comment to the first .js file of each of the first `n` plugins of `who`'s copy. */
  const change = (who, n) => {
    state.rep++
    const plugins = fs.readdirSync(path.join(copy(who), 'plugins')).sort().slice(0, n)
    for (const p of plugins) {
      const dd = path.join(copy(who), 'plugins', p, 'dist-dynamic')
      const js = fs.readdirSync(dd, { recursive: true }).filter((f) => f.endsWith('.js')).sort()[0]
      fs.appendFileSync(path.join(dd, js), `\n// bench change ${state.rep}\n`)
    }
  }
  const setup = async () => {
    state.dir = fs.mkdtempSync(path.join(cache, 'incremental-'))
    state.registry = await startRegistry(path.join(state.dir, 'registry'))
    state.host = state.registry.host
    for (const who of ['all', 'one', 'none', 'single']) {
      fs.cpSync(fx('monorepo').dir, copy(who), { recursive: true })
      execFileSync(process.execPath, args(who), { stdio: 'ignore' })
    }
  }
  const teardown = () => {
    if (state.registry) state.registry.stop()
    if (state.dir) fs.rmSync(state.dir, { recursive: true, force: true })
  }
  const row = (who, n, label, extra = {}) => ({
    id: `package-push-${who}-changed`,
    label,
    skip: missing,
    fixture: 'monorepo',
    input: true,
    before: () => change(who, n),
    spec: () => ({ cmd: process.execPath, args: args(who) }),
    ...extra,
  })
  return {
    id: 'incremental',
    title: '`package --push` of 20 plugins, one image each, after a change',
    reps: opt.reps,
    setup,
    teardown,
    contenders: [
      row('all', 20, '`dynpack package --push`, all 20 plugins changed', { baseline: true }),
      row('one', 1, '`dynpack package --push`, 1 of 20 changed (19 up to date)'),
      row('none', 0, '`dynpack package --push`, none changed (20 up to date: walk + hash + one GET each)'),
      row('single', 0, '`dynpack package --push` of 1 unchanged plugin alone (the fixed cost of a run)'),
    ],
  }
}

module.exports = { incrementalGroup }
