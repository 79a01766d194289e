'use strict'
// Turns measured runs into medians, ratios and the issue's targets, prints
// them as markdown and writes bench/results.json (temp name, then rename).

const fs = require('node:fs')

function median (xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return null
  const m = v.length >> 1
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2
}

function min (xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x))
  return v.length ? Math.min(...v) : null
}

function max (xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x))
  return v.length ? Math.max(...v) : null
}

/** Adds medians to a row from its runs. */
function summarize (row) {
  const runs = row.runs || []
  row.wall = median(runs.map((r) => r.wall))
  row.op = median(runs.map((r) => r.op))
  row.minWall = min(runs.map((r) => r.wall))
  row.cpu = median(runs.map((r) => r.cpu))
  row.rssMB = median(runs.map((r) => r.rssMB))
  row.maxRssMB = max(runs.map((r) => r.rssMB))
  row.lateMs = max(runs.map((r) => r.lateMs))
  row.outputBytes = median(runs.map((r) => r.outputBytes))
  return row
}

const fmt = (x, d = 2) => (x == null ? '–' : x.toFixed(d))

/** Speed-up of `row` over `base` (their median process wall times). */
function speedup (base, row) {
  if (!base || !row || !base.wall || !row.wall) return null
  return base.wall / row.wall
}

/** The markdown table of all rows, grouped, with the ratio to each group's baseline. */
function table (results) {
  const lines = [
    '| group | contender | wall s (median) | in-process s | min wall s | CPU s | peak RSS MB | output MB | speed-up vs baseline | notes |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---|',
  ]
  for (const g of results.groups) {
    const base = g.rows.find((r) => r.baseline && r.wall)
    for (const r of g.rows) {
      if (r.skipped || r.error) {
        lines.push(`| ${g.title} | ${r.label} | | | | | | | | ${r.skipped ? 'skipped: ' + r.skipped : 'FAILED: ' + r.error.split('\n')[0]} |`)
        continue
      }
      const notes = []
      if (r.baseline) notes.push('baseline')
      if (r.lateMs != null) notes.push(`timer late ≤ ${fmt(r.lateMs, 0)} ms`)
      if (r.inputBytes && r.wall) notes.push(`${fmt(r.inputBytes / 1e6 / (r.op || r.wall), 0)} MB/s`)
      if (r.note) notes.push(r.note)
      const sp = r.baseline ? null : speedup(r.vs ? g.rows.find((x) => x.id === r.vs) : base, r)
      lines.push(`| ${g.title} | ${r.label} | ${fmt(r.wall)} | ${fmt(r.op)} | ${fmt(r.minWall)} | ${fmt(r.cpu)} | ${fmt(r.rssMB, 0)} | ${r.outputBytes ? fmt(r.outputBytes / 1e6, 1) : '–'} | ${sp ? fmt(sp) + '×' : ''} | ${notes.join('; ')} |`)
    }
  }
  return lines.join('\n')
}

function targetTable (targets) {
  const lines = ['| target | goal | measured | met |', '|---|---|---|---|']
  for (const t of targets) {
    const met = t.met == null ? (t.skipped ? 'n/a' : '–') : (t.met ? 'yes' : 'no')
    lines.push(`| ${t.name} | ${t.goal} | ${t.measured ?? ('skipped: ' + (t.skipped || 'no data'))} | ${met} |`)
  }
  return lines.join('\n')
}

/** The issue's targets, checked on this run's medians. */
function targets (results) {
  const row = (g, id) => {
    const grp = results.groups.find((x) => x.id === g)
    const r = grp && grp.rows.find((x) => x.id === id)
    return r && r.wall ? r : null
  }
  const out = []
  // a / b on process wall times, or on in-process times when `inProcess`
  const ran = (g) => results.groups.some((x) => x.id === g)
  const ratio = (name, goal, a, b, threshold, inProcess = false) => {
    if (!a || !b) {
      out.push({ name, goal, skipped: !a ? 'baseline missing' : 'contender missing' })
      return
    }
    const ta = inProcess ? (a.op || a.wall) : a.wall
    const tb = inProcess ? (b.op || b.wall) : b.wall
    const x = ta / tb
    // best of each, a check on medians that one noisy neighbour can move
    const best = inProcess ? null : a.minWall / b.minWall
    const measured = `${fmt(x)}× (${fmt(ta)} s vs ${fmt(tb)} s)` + (best ? `; best runs ${fmt(best)}×` : '')
    out.push({ name, goal, value: x, best, measured, met: threshold == null ? null : x >= threshold })
  }
  if (ran('backend')) {
    ratio('npm mode vs `npm pack` (backend)', '≥ 1.4× faster', row('backend', 'npm-pack'), row('backend', 'pack-npm'), 1.4)
    const floor = row('backend', 'zlib'); const npmMode = row('backend', 'pack-npm')
    if (floor && npmMode) {
      const x = npmMode.op / floor.op
      out.push({ name: 'npm mode vs zlib level 9 alone (deflate floor)', goal: '≤ 1.1× the floor', value: x, measured: `${fmt(x)}× (${fmt(npmMode.op)} s vs ${fmt(floor.op)} s, in-process)`, met: x <= 1.1 })
    } else out.push({ name: 'npm mode vs zlib level 9 alone (deflate floor)', goal: '≤ 1.1× the floor', skipped: 'missing row' })
    ratio('fast mode vs `npm pack` (backend)', '≥ 6× faster', row('backend', 'npm-pack'), row('backend', 'pack-fast'), 6)
    ratio('libnpmpack vs packDynamic `npm`, both in-process (backend)', 'informative', row('backend', 'libnpmpack'), row('backend', 'pack-npm'), null, true)
  }
  if (ran('monorepo')) {
    const cli = row('monorepo', 'dynpack-cli')
    ratio(`20 plugins: \`npm pack\` one by one vs ${cli ? '`dynpack pack`' : 'packDynamic ×20 (no `dynpack pack` row)'}`, '≥ 2.5× faster',
      row('monorepo', 'npm-pack-each'), cli || row('monorepo', 'pack-many'), 2.5)
  }
  if (ran('oci')) ratio('buildOciLayout vs podman packager + push', '≥ 5× faster', row('oci', 'podman'), row('oci', 'build-oci'), 5)
  if (ran('incremental')) {
    ratio('`package --push` of 20 plugins: 1 changed vs all 20 changed', '≥ 5× faster', row('incremental', 'package-push-all-changed'), row('incremental', 'package-push-one-changed'), 5)
    ratio('`package --push` of 20 plugins: none changed vs all 20 changed (per plugin: walk + hash + one GET vs full)', 'informative', row('incremental', 'package-push-all-changed'), row('incremental', 'package-push-none-changed'))
    const [all, none, single] = ['all', 'none', 'single'].map((w) => row('incremental', `package-push-${w}-changed`))
    if (all && none && single) {
      const unchanged = (none.wall - single.wall) / 19
      const full = (all.wall - single.wall + unchanged) / 20
      out.push({ name: 'per plugin, beyond the fixed cost of a run (1 plugin alone): unchanged (walk + hash + one GET) vs changed', goal: 'informative', measured: `${fmt(unchanged * 1000, 1)} ms vs ${fmt(full * 1000, 0)} ms (fixed cost ${fmt(single.wall)} s)`, met: null })
    }
  }
  if (ran('push')) {
    ratio('`dynpack push` vs `skopeo copy` (same layout, loopback registry)', '≥ 1× (at least as fast)', row('push', 'skopeo-copy'), row('push', 'dynpack-push'), 1)
    ratio('`dynpack package --push` vs janus-cli packager + `podman push`', '≥ 10× faster', row('push', 'podman-package-push'), row('push', 'dynpack-package-push'), 10)
  }
  if (ran('mirror')) {
    ratio('`dynpack mirror` (+ signature + SBOM) vs `skopeo copy --all`, one image', '≥ 1× (at least as fast)', row('mirror', 'skopeo-copy-one'), row('mirror', 'dynpack-mirror-one'), 1)
    ratio('`dynpack mirror` vs `skopeo sync`, 20 images with signatures and SBOMs', '≥ 1× (at least as fast)', row('mirror', 'skopeo-sync-20'), row('mirror', 'dynpack-mirror-20'), 1)
  }
  if (ran('mirror-1g')) {
    for (const [id, what] of [['dynpack-mirror-1g', 'one hop'], ['dynpack-mirror-1g-to-dir', 'two hops, --to-dir'], ['dynpack-mirror-1g-from-dir', 'two hops, DIR --to']]) {
      const r = row('mirror-1g', id)
      const name = `peak memory of \`dynpack mirror\`, 1 GiB layer, ${what}`
      if (r) out.push({ name, goal: '< 150 MB', value: r.maxRssMB, measured: `${fmt(r.maxRssMB, 0)} MB (${fmt(r.wall)} s)`, met: r.maxRssMB < 150 })
      else out.push({ name, goal: '< 150 MB', skipped: 'row missing' })
    }
  }
  if (ran('integrity')) ratio('computeIntegrity vs sha512sum (throughput)', '≥ 0.9×', row('integrity', 'sha512sum'), row('integrity', 'compute-integrity'), 0.9)
  const mem = [row('backend', 'pack-npm'), row('backend', 'pack-fast')].filter(Boolean)
  if (mem.length) {
    const peak = Math.max(...mem.map((r) => r.maxRssMB || 0))
    out.push({ name: 'peak memory of packDynamic (backend)', goal: '< 200 MB', value: peak, measured: `${fmt(peak, 0)} MB`, met: peak < 200 })
  }
  for (const mode of ['npm', 'fast']) {
    const sizes = ['pack-' + mode, 'x4-' + mode, 'x16-' + mode]
    const r1 = row('backend', sizes[0]); const r16 = row('scaling', sizes[2]); const r4 = row('scaling', sizes[1])
    if (r1 && r16) {
      const growth = r16.maxRssMB / r1.maxRssMB
      out.push({
        name: `memory vs total size, ${mode} mode (1×/4×/16× backend)`,
        goal: 'flat (largest file, not total)',
        value: growth,
        measured: `${fmt(r1.maxRssMB, 0)} / ${r4 ? fmt(r4.maxRssMB, 0) : '–'} / ${fmt(r16.maxRssMB, 0)} MB`,
        met: growth < 1.5,
      })
    }
  }
  const lag = [row('backend', 'pack-npm'), row('backend', 'pack-fast')].filter(Boolean)
  if (lag.length) {
    const late = Math.max(...lag.map((r) => r.lateMs ?? 0))
    out.push({ name: 'main thread free during a backend pack (10 ms timer)', goal: 'late ≤ 50 ms', value: late, measured: `${fmt(late, 1)} ms max`, met: late <= 50 })
  }
  return out
}

/** Writes `file` via `<file>.tmp` + rename. */
function writeJson (file, obj) {
  const tmp = `${file}.tmp`
  fs.writeFileSync(tmp, JSON.stringify(obj, null, 2) + '\n')
  fs.renameSync(tmp, file)
}

module.exports = { summarize, table, targetTable, targets, writeJson, median }
