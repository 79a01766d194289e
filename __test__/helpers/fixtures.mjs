// Package folders that exercise npm's file selection, order and tar format.
// Each builder writes a fresh fixture under `root` and returns its path.
import fs from 'node:fs'
import path from 'node:path'
import { writeTree, codeLike } from './tree.mjs'

const pkg = (name, version, extra = {}) => ({ json: { name, version, ...extra } })

/** A backend dist-dynamic as the RHDH exporter writes it, bundled node_modules included. */
export function backendDistDynamic (root) {
  const dir = path.join(root, 'backend', 'dist-dynamic')
  const long = 'a-very-long-directory-name-that-keeps-going-and-going'
  writeTree(dir, {
    'package.json': pkg('@backstage-community/plugin-todo-backend-dynamic', '1.2.3-rc.1', {
      description: 'A todo backend',
      main: 'dist/index.cjs.js',
      types: 'dist/index.d.ts',
      files: ['dist', 'config.d.ts', 'alpha', 'app-config.yaml'],
      bin: { 'todo-cli': 'cli.js' },
      backstage: { role: 'backend-plugin', pluginId: 'todo' },
      bundleDependencies: true,
      dependencies: {
        'dep-a': '^1.0.0',
        '@scope/dep-b': '^2.0.0',
        hoisted: '^1.0.0',
        'opt-dep': '^1.0.0',
        'link-dep': 'file:../linked',
        missing: '^1.0.0',
      },
      optionalDependencies: { 'opt-dep': '^1.0.0' },
      peerDependencies: { '@backstage/backend-plugin-api': '*' },
      devDependencies: { 'dev-only': '1.0.0' },
    }),
    '.gitignore': '*\n',
    'yarn.lock': '# yarn lockfile v1\n',
    'package-lock.json': '{}\n',
    'README.md': '# todo backend\n',
    'LICENSE': 'Apache-2.0\n',
    'cli.js': { content: '#!/usr/bin/env node\nconsole.log(1)\n', mode: 0o644 },
    'config.d.ts': 'export interface Config {}\n',
    'app-config.yaml': 'todo:\n  enabled: true\n',
    'alpha/package.json': { json: { name: '@backstage-community/plugin-todo-backend__alpha', main: '../dist/alpha.cjs.js' } },
    'dist/index.cjs.js': codeLike(1, 40_000),
    'dist/index.cjs.js.map': codeLike(2, 30_000),
    'dist/index.d.ts': codeLike(3, 2_000),
    'dist/alpha.cjs.js': codeLike(4, 3_000),
    'dist/configSchema.json': '{"type":"object"}\n',
    'dist/.config-schema.json': '{"schemas":[]}\n',
    'dist/10.js': '10\n',
    'dist/9.js': '9\n',
    'dist/_under.js': '_\n',
    'dist/B.js': 'B\n',
    'dist/alpha.JS': 'upper ext\n',
    'dist/é.js': 'nfc\n',
    'dist/e\u0301-nfd.js': 'nfd\n',
    'dist/日本語.js': 'cjk\n',
    'dist/emoji-😀.js': 'emoji\n',
    'dist/st*ar.js': 'dropped by npm\n',
    'dist/.DS_Store': 'junk',
    'dist/x.orig': 'junk',
    'dist/npm-debug.log': 'junk',
    [`dist/${long}/${long}/index.js`]: codeLike(5, 1_000),
    [`dist/${'b'.repeat(124)}.js`]: 'long basename\n',
    [`dist/${'ü'.repeat(60)}.js`]: 'long non-ascii\n',
    'dist/exec.sh': { content: '#!/bin/sh\n', mode: 0o775 },
    'dist/readonly.txt': { content: 'ro\n', mode: 0o444 },
    'dist/private.txt': { content: 'p\n', mode: 0o600 },
    'dist/group-writable.txt': { content: 'gw\n', mode: 0o664 },
    'dist/setuid': { content: 'su\n', mode: 0o4755 },
    'dist/hard-a.js': 'same inode\n',
    'dist/hard-b.js': { hardlink: 'dist/hard-a.js' },
    'dist/link-to-file.js': { symlink: 'index.cjs.js' },
    'dist/link-to-dir': { symlink: '.' },
    'dist/empty-dir': { dir: true },
    'dist/@atdir/at.js': 'at\n',
    'dist/sub/.npmignore': '*.secret\n',
    'dist/sub/.gitignore': '*.kept\n',
    'dist/sub/a.secret': 's',
    'dist/sub/a.kept': 'k',
    'dist/sub/a.js': 'a',
    'dist/git-only/.gitignore': '*.gen.js\n',
    'dist/git-only/x.gen.js': 'g',
    'dist/git-only/x.js': 'x',
    'node_modules/.bin/todo-cli': { symlink: '../dep-a/bin.js' },
    'node_modules/dep-a/package.json': pkg('dep-a', '1.0.0', { dependencies: { nested: '1', hoisted: '1' }, bin: 'bin.js' }),
    'node_modules/dep-a/index.js': codeLike(6, 5_000),
    'node_modules/dep-a/bin.js': { content: '#!/usr/bin/env node\n', mode: 0o755 },
    'node_modules/dep-a/.npmignore': 'test/\n',
    'node_modules/dep-a/.DS_Store': 'packed: bundle roots get no default rules',
    'node_modules/dep-a/test/t.js': 'packed too',
    'node_modules/dep-a/lib/.DS_Store': 'dropped: subfolders get default rules',
    'node_modules/dep-a/lib/x.js': 'x',
    'node_modules/dep-a/package-lock.json': '{}',
    'node_modules/dep-a/.npmrc': 'secret=1',
    'node_modules/dep-a/node_modules/nested/package.json': pkg('nested', '1.0.0'),
    'node_modules/dep-a/node_modules/nested/index.js': 'nested',
    'node_modules/@scope/dep-b/package.json': pkg('@scope/dep-b', '2.0.0', { files: ['lib'], dependencies: { transitive: '1' } }),
    'node_modules/@scope/dep-b/lib/index.js': codeLike(7, 8_000),
    'node_modules/@scope/dep-b/other.js': 'dropped by its files field',
    'node_modules/@scope/dep-b/README.md': 'always packed\n',
    'node_modules/transitive/package.json': pkg('transitive', '1.0.0'),
    'node_modules/transitive/index.js': 't',
    'node_modules/hoisted/package.json': pkg('hoisted', '1.0.0'),
    'node_modules/hoisted/index.js': 'h',
    'node_modules/opt-dep/package.json': pkg('opt-dep', '1.0.0'),
    'node_modules/opt-dep/index.js': 'o',
    'node_modules/dev-only/package.json': pkg('dev-only', '1.0.0'),
    'node_modules/dev-only/index.js': 'dev, not bundled',
    'node_modules/extraneous/package.json': pkg('extraneous', '1.0.0'),
    'node_modules/extraneous/index.js': 'not bundled',
    'node_modules/link-dep': { symlink: '../../linked' },
  })
  writeTree(path.join(root, 'backend'), {
    'linked/package.json': pkg('link-dep', '1.0.0'),
    'linked/index.js': 'linked',
    'linked/.DS_Store': 'dropped: links get default rules',
    'linked/.npmignore': 'secret.js\n',
    'linked/secret.js': 'dropped',
  })
  return dir
}

/** A frontend dist-dynamic with dist-scalprum. */
export function frontendDistDynamic (root) {
  const dir = path.join(root, 'frontend', 'dist-dynamic')
  writeTree(dir, {
    'package.json': pkg('@backstage-community/plugin-todo-dynamic', '0.4.0', {
      main: 'dist/index.esm.js',
      files: ['dist', 'dist-scalprum'],
      backstage: { role: 'frontend-plugin', pluginId: 'todo' },
      scalprum: { name: 'backstage-community.plugin-todo', exposedModules: { PluginRoot: './src/index.ts' } },
    }),
    'dist/index.esm.js': codeLike(11, 20_000),
    'dist/index.d.ts': codeLike(12, 1_000),
    'dist/.config-schema.json': '{}',
    'dist-scalprum/plugin-manifest.json': '{"name":"backstage-community.plugin-todo"}\n',
    'dist-scalprum/backstage-community.plugin-todo.8e6e2e2e.js': codeLike(13, 10_000),
    'dist-scalprum/static/exposed-PluginRoot.1a2b3c.js': codeLike(14, 15_000),
    'dist-scalprum/static/vendor.4d5e6f.js': codeLike(15, 30_000),
    'dist-scalprum/static/vendor.4d5e6f.js.map': codeLike(16, 30_000),
    'dist-scalprum/configSchema.json': '{}',
    'src/index.ts': 'not in files',
  })
  return dir
}

/** A package with `files` globs, negations and odd entries. */
export function filesGlobs (root) {
  const dir = path.join(root, 'globs')
  writeTree(dir, {
    'package.json': pkg('globs', '2.0.0', {
      files: ['assets/*', 'docs/**/*.md', './extra/', '!extra/skip.txt', 'tool.js', 'missing-entry', 'linked-entry', '/rooted.txt', 'lib/deep/file.js'],
      bin: './bin/run.js',
      browser: 'browser.js',
    }),
    'assets/a.png': Buffer.from([0, 1, 2, 3, 255]),
    'assets/nested/n.txt': 'n',
    'docs/a.md': 'a', 'docs/b.txt': 'b', 'docs/x/y/z.md': 'z',
    'extra/e.txt': 'e', 'extra/skip.txt': 's',
    'tool.js': 'tool',
    'rooted.txt': 'r',
    'browser.js': 'browser',
    'bin/run.js': { content: '#!/usr/bin/env node\n', mode: 0o644 },
    'lib/deep/file.js': 'deep',
    'lib/deep/other.js': 'other',
    'linked-entry': { symlink: 'tool.js' },
    '.npmignore': 'tool.js\n',
    'npm-shrinkwrap.json': '{}',
    'bun.lock': '{}',
    'pnpm-lock.yaml': 'x',
    'Readme.markdown': 'readme',
    'readme~': 'backup',
    'LICENCE.txt': 'l',
    'COPYING': 'c',
    'CHANGELOG.md': 'not always included',
    '.npmrc': 'secret',
  })
  return dir
}

/** No `files`: the root .npmignore decides; .gitignore elsewhere. */
export function ignoreFiles (root) {
  const dir = path.join(root, 'ignores')
  writeTree(dir, {
    'package.json': pkg('ignores', '1.0.0-beta.2', { main: './index.js', bin: { a: 'bin/a.js', b: 'b.js' } }),
    'index.js': 'i',
    'b.js': { content: 'b', mode: 0o644 },
    'bin/a.js': { content: 'a', mode: 0o644 },
    'x/b.js': 'quirk: +x because of the bin rule',
    '.npmignore': '/build\n*.log\n!keep.log\n# comment\n\ndocs/\n',
    '.gitignore': 'index.js\n',
    'build/out.js': 'ignored',
    'a.log': 'ignored', 'keep.log': 'kept',
    'docs/d.md': 'ignored',
    'lib/.gitignore': 'gen/\n',
    'lib/gen/g.js': 'ignored',
    'lib/l.js': 'kept',
    'lib/sub/.npmignore': 'n.js\n',
    'lib/sub/.gitignore': 'g.js\n',
    'lib/sub/n.js': 'ignored', 'lib/sub/g.js': 'kept',
    '.git/HEAD': 'ref',
    ['deep/' + Array.from({ length: 40 }, (_, i) => `d${i}`).join('/') + '/leaf.js']: 'deep',
    'CVS/x': 'ignored', '.hg/x': 'ignored', 'a.js.orig': 'ignored', '._resource': 'ignored',
    'node_modules/x/index.js': 'not bundled',
  })
  return dir
}

/** Only a root .gitignore; no `files`. */
export function gitignoreOnly (root) {
  const dir = path.join(root, 'gitonly')
  writeTree(dir, {
    'package.json': pkg('gitonly', '0.0.1'),
    '.gitignore': 'secret/\n*.tmp\n',
    'secret/s.js': 's', 'a.tmp': 't', 'ok.js': 'ok',
  })
  return dir
}

/** `files` with extglobs and POSIX classes, as real packages write them. */
export function extglobFiles (root) {
  const dir = path.join(root, 'extglob-files')
  writeTree(dir, {
    'package.json': pkg('extglob-files', '1.0.0', {
      files: ['dist/x/**/!(*.tsbuildinfo)', 'lib/@(a|b).js', 'docs/+([[:alpha:]]).md', 'conf/?(app-)config.json',
        'scripts/*(run|build).sh', 'src/[[:upper:]]*.ts', 'assets/[!.]*', 'types/!(*.test).d.ts'],
    }),
    'dist/x/a.js': 'a', 'dist/x/tsconfig.tsbuildinfo': 't', 'dist/x/sub/b.js': 'b', 'dist/x/sub/c.tsbuildinfo': 'c',
    'dist/x/sub/d.d.ts': 'd', 'dist/x/sub/e.js.map': 'e', 'dist/x/sub/.npmignore': '+(e).js.map\n', 'dist/y/z.js': 'z',
    'lib/a.js': 'a', 'lib/b.js': 'b', 'lib/c.js': 'c', 'lib/ab.js': 'ab',
    'docs/guide.md': 'g', 'docs/guide2.md': 'g2', 'docs/ü.md': 'u',
    'conf/config.json': '{}', 'conf/app-config.json': '{}', 'conf/other-config.json': '{}',
    'scripts/runbuild.sh': 'x', 'scripts/x.sh': 'x', 'scripts/run.sh': 'x', 'scripts/.sh': 'x',
    'src/Index.ts': 'i', 'src/lower.ts': 'l', 'src/1.ts': '1',
    'assets/a.png': 'a', 'assets/.hidden': 'h',
    'types/index.d.ts': 'i', 'types/index.test.d.ts': 't',
  })
  return dir
}

/** No `files`: extglob and class rules in .npmignore and .gitignore. */
export function extglobIgnores (root) {
  const dir = path.join(root, 'extglob-ignores')
  writeTree(dir, {
    'package.json': pkg('extglob-ignores', '1.0.0'),
    '.npmignore': '*.@(log|tmp)\n!(keep).log\n+([[:digit:]]).txt\nbuild/!(public)/**\n[[:upper:]][[:upper:]]*.md\n?(.)cache\n',
    'a.log': 'x', 'keep.log': 'k', 'b.tmp': 'x', '123.txt': 'x', 'a1.txt': 'k',
    'build/private/p.js': 'x', 'build/public/p.js': 'k',
    'NOTES.md': 'x', 'Notes.md': 'x', 'n.md': 'k', 'cache': 'x', '.cache': 'x', 'ccache': 'k',
    'lib/.gitignore': '*.@(map|tsbuildinfo)\n[!i]*.js\n',
    'lib/index.js': 'k', 'lib/other.js': 'x', 'lib/index.js.map': 'x', 'lib/t.tsbuildinfo': 'x',
  })
  return dir
}

/** Every fixture, by name. */
export const fixtures = { backendDistDynamic, frontendDistDynamic, filesGlobs, ignoreFiles, gitignoreOnly, extglobFiles, extglobIgnores }

export function exists (p) {
  try { fs.lstatSync(p); return true } catch { return false }
}
