#!/usr/bin/env node
'use strict'
// Writes the example Backstage monorepo the demo and the CLI tests package:
//
//   <root>/package.json                     workspaces: ["plugins/*"]
//   <root>/plugins/todo-backend/            backend plugin source + app-config.yaml
//   <root>/plugins/todo-backend/dist-dynamic/   as `rhdh-cli plugin export` leaves it:
//       package.json (…-backend-dynamic, bundleDependencies: true), dist/, yarn.lock,
//       .gitignore (*), node_modules/ with a scoped, a nested and a .bin entry
//   <root>/plugins/todo-frontend/           frontend plugin source + app-config.yaml
//   <root>/plugins/todo-frontend/dist-dynamic/  dist/ and dist-scalprum/ (Scalprum remote)
//   <root>/plugins/todo-common/             a common-library, which packaging skips
//
// The content is small but shaped like real exporter output, and the same on
// every run (no network, no clock). The frontend is `plugin-todo-frontend`,
// not the usual `plugin-todo`: in one image, the directory of `plugin-todo`
// would be a name prefix of `plugin-todo-backend`, which RHDH <= 1.10 cannot
// install apart, so dynpack refuses to build such an image. The examples are generated rather than
// committed because git cannot hold them as the exporter writes them:
// dist-dynamic/.gitignore is `*` and node_modules/ is ignored.
//
// Usage: node examples/make-examples.js [ROOT]   (default: examples/)

const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')

const VERSION = '1.2.0'
const SCOPE = '@acme'

/** Short content hash, as webpack puts in file names. */
const hash = (text) => crypto.createHash('sha256').update(text).digest('hex').slice(0, 8)
const json = (value) => JSON.stringify(value, null, 2) + '\n'

// ---------------------------------------------------------------------------
// backend plugin

const backendSource = {
  'package.json': json({
    name: `${SCOPE}/plugin-todo-backend`,
    version: VERSION,
    description: 'Lists the TODO comments found in the source code of catalog entities',
    license: 'Apache-2.0',
    main: 'src/index.ts',
    types: 'src/index.ts',
    backstage: { role: 'backend-plugin', pluginId: 'todo', pluginPackages: [`${SCOPE}/plugin-todo-frontend`, `${SCOPE}/plugin-todo-backend`, `${SCOPE}/plugin-todo-common`] },
    homepage: 'https://example.com/acme/todo',
    repository: { type: 'git', url: 'https://example.com/acme/todo.git', directory: 'plugins/todo-backend' },
    scripts: { build: 'backstage-cli package build', 'export-dynamic': 'rhdh-cli plugin export' },
    dependencies: {
      '@acme-oss/text-utils': '^0.3.1',
      [`${SCOPE}/plugin-todo-common`]: `^${VERSION}`,
      '@backstage/backend-plugin-api': '^1.0.0',
      'todo-comments': '^2.1.0',
    },
    files: ['dist', 'config.d.ts'],
    configSchema: 'config.d.ts',
  }),
  'app-config.yaml': `# The todo backend's settings; RHDH merges pluginConfig into its app-config.
todo:
  # Where to look for TODO comments, per catalog entity annotation.
  sources:
    - annotation: backstage.io/source-location
  refreshInterval:
    minutes: 30
  tags: [TODO, FIXME] # comment markers to report
`,
  'config.d.ts': `export interface Config {
  todo?: {
    sources?: Array<{ annotation: string }>;
    refreshInterval?: { minutes: number };
    tags?: string[];
  };
}
`,
  'src/index.ts': "export { todoPlugin as default } from './plugin';\n",
  'src/plugin.ts': `import { coreServices, createBackendPlugin } from '@backstage/backend-plugin-api';
import { createRouter } from './router';

export const todoPlugin = createBackendPlugin({
  pluginId: 'todo',
  register(env) {
    env.registerInit({
      deps: { config: coreServices.rootConfig, logger: coreServices.logger, http: coreServices.httpRouter },
      async init({ config, logger, http }) {
        http.use(await createRouter({ config, logger }));
      },
    });
  },
});
`,
  'README.md': '# todo backend\n\nServes `/api/todo/todos` for the todo frontend plugin.\n',
}

const textUtils = (version, extra = '') => `'use strict';
// @acme-oss/text-utils ${version}: helpers for scanning source text.
function escapeRegExp(s) { return String(s).replace(/[.*+?^\${}()|[\\]\\\\]/g, '\\\\$&'); }
function lines(text) { return String(text).split(/\\r?\\n/); }
${extra}module.exports = { escapeRegExp, lines${extra ? ', columnOf' : ''} };
`

const backendIndex = `'use strict';

Object.defineProperty(exports, '__esModule', { value: true });

var backendPluginApi = require('@backstage/backend-plugin-api');
var express = require('express');
var textUtils = require('@acme-oss/text-utils');
var todoComments = require('todo-comments');

function _interopDefaultCompat (e) { return e && typeof e === 'object' && 'default' in e ? e : { default: e }; }
var express__default = /*#__PURE__*/_interopDefaultCompat(express);

async function createRouter({ config, logger }) {
  const tags = config.getOptionalStringArray('todo.tags') ?? ['TODO', 'FIXME'];
  const minutes = config.getOptionalNumber('todo.refreshInterval.minutes') ?? 30;
  const pattern = new RegExp('(' + tags.map(textUtils.escapeRegExp).join('|') + ')');
  logger.info(\`todo: scanning for \${tags.join(', ')} every \${minutes} minutes\`);
  const router = express__default.default.Router();
  router.use(express__default.default.json());
  router.get('/health', (_req, res) => { res.json({ status: 'ok' }); });
  router.get('/todos', (req, res) => {
    const text = String(req.query.text ?? '');
    const items = todoComments.parse(text, { tags }).filter(item => pattern.test(item.tag));
    res.json({ items, totalCount: items.length });
  });
  return router;
}

const todoPlugin = backendPluginApi.createBackendPlugin({
  pluginId: 'todo',
  register(env) {
    env.registerInit({
      deps: {
        config: backendPluginApi.coreServices.rootConfig,
        logger: backendPluginApi.coreServices.logger,
        http: backendPluginApi.coreServices.httpRouter,
      },
      async init({ config, logger, http }) {
        http.use(await createRouter({ config, logger }));
        http.addAuthPolicy({ path: '/health', allow: 'unauthenticated' });
      },
    });
  },
});

exports.default = todoPlugin;
//# sourceMappingURL=index.cjs.js.map
`

const backendSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  properties: {
    todo: {
      type: 'object',
      properties: {
        sources: { type: 'array', items: { type: 'object', properties: { annotation: { type: 'string' } }, required: ['annotation'] } },
        refreshInterval: { type: 'object', properties: { minutes: { type: 'number' } } },
        tags: { type: 'array', items: { type: 'string' } },
      },
    },
  },
}

function backendDistDynamic () {
  const name = `${SCOPE}/plugin-todo-backend`
  return {
    '.gitignore': '*\n',
    'package.json': json({
      name: `${name}-dynamic`,
      version: VERSION,
      description: 'Lists the TODO comments found in the source code of catalog entities',
      main: 'dist/index.cjs.js',
      types: 'dist/index.d.ts',
      license: 'Apache-2.0',
      homepage: 'https://example.com/acme/todo',
      repository: { type: 'git', url: 'https://example.com/acme/todo.git', directory: 'plugins/todo-backend' },
      backstage: { role: 'backend-plugin', pluginId: 'todo', pluginPackages: [`${SCOPE}/plugin-todo-frontend`, `${SCOPE}/plugin-todo-backend`, `${SCOPE}/plugin-todo-common`] },
      keywords: ['backstage', 'dynamic-plugin', 'todo'],
      files: ['dist', 'config.d.ts'],
      configSchema: 'config.d.ts',
      scripts: {},
      dependencies: {
        '@acme-oss/text-utils': '^0.3.1',
        express: '^4.21.2',
        'todo-comments': '^2.1.0',
      },
      devDependencies: {},
      peerDependencies: {
        '@backstage/backend-plugin-api': '^1.0.0',
        [`${SCOPE}/plugin-todo-common`]: `^${VERSION}`,
      },
      overrides: { '@aws-sdk/util-utf8-browser': { '@smithy/util-utf8': '^2.0.0' } },
      resolutions: { '@aws-sdk/util-utf8-browser': 'npm:@smithy/util-utf8@~2' },
      bundleDependencies: true,
    }),
    'README.md': backendSource['README.md'],
    'config.d.ts': backendSource['config.d.ts'],
    'dist/index.cjs.js': backendIndex,
    'dist/index.cjs.js.map': json({ version: 3, file: 'index.cjs.js', sources: ['../src/router.ts', '../src/plugin.ts'], names: [], mappings: 'AAAA;AACA;AACA' }),
    'dist/index.d.ts': "import * as _backstage_backend_plugin_api from '@backstage/backend-plugin-api';\n\ndeclare const todoPlugin: _backstage_backend_plugin_api.BackendFeature;\n\nexport { todoPlugin as default };\n",
    'dist/configSchema.json': json(backendSchema),
    'dist/.config-schema.json': json({ schemas: [{ value: backendSchema, path: '../config.d.ts', packageName: `${name}-dynamic` }], backstageConfigSchemaVersion: 1 }),
    'yarn.lock': `# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@acme-oss/text-utils@^0.2.0":
  version "0.2.4"

"@acme-oss/text-utils@^0.3.1":
  version "0.3.1"

express@^4.21.2:
  version "4.21.2"

todo-comments@^2.1.0:
  version "2.1.0"
  dependencies:
    "@acme-oss/text-utils" "^0.2.0"
`,
    // A private dependency, scoped.
    'node_modules/@acme-oss/text-utils/package.json': json({ name: '@acme-oss/text-utils', version: '0.3.1', main: 'index.js', license: 'MIT' }),
    'node_modules/@acme-oss/text-utils/index.js': textUtils('0.3.1', 'function columnOf(line, needle) { return line.indexOf(needle) + 1; }\n'),
    'node_modules/@acme-oss/text-utils/LICENSE': 'MIT License\n\nCopyright (c) ACME OSS\n',
    // Stands in for a big third-party dependency tree.
    'node_modules/express/package.json': json({ name: 'express', version: '4.21.2', main: 'index.js', license: 'MIT', files: ['index.js', 'lib/'] }),
    'node_modules/express/index.js': "'use strict';\nmodule.exports = require('./lib/express');\n",
    'node_modules/express/lib/express.js': "'use strict';\n// A stand-in for express in the example: a router that records its routes.\nfunction Router() { const routes = []; const r = (req, res, next) => next && next(); r.routes = routes; for (const m of ['use', 'get', 'post']) r[m] = (...a) => { routes.push([m, a[0]]); return r; }; return r; }\nfunction express() { return Router(); }\nexpress.Router = Router;\nexpress.json = () => (req, res, next) => next();\nmodule.exports = express;\n",
    'node_modules/express/History.md': 'Not packed: express lists its files.\n',
    // A dependency with a bin and a nested, older copy of @acme-oss/text-utils.
    'node_modules/todo-comments/package.json': json({ name: 'todo-comments', version: '2.1.0', main: 'lib/index.js', bin: { 'todo-comments': 'bin/cli.js' }, license: 'MIT', dependencies: { '@acme-oss/text-utils': '^0.2.0' } }),
    'node_modules/todo-comments/lib/index.js': `'use strict';
const { escapeRegExp, lines } = require('@acme-oss/text-utils');
function parse(text, { tags = ['TODO'] } = {}) {
  const re = new RegExp('(?://|#|/\\\\*)\\\\s*(' + tags.map(escapeRegExp).join('|') + ')\\\\b[:\\\\s]*(.*)');
  const items = [];
  lines(text).forEach((line, i) => { const m = re.exec(line); if (m) items.push({ tag: m[1], text: m[2].trim(), lineNumber: i + 1 }); });
  return items;
}
module.exports = { parse };
`,
    'node_modules/todo-comments/bin/cli.js': { content: "#!/usr/bin/env node\n'use strict';\nconst fs = require('fs');\nconst { parse } = require('../lib/index.js');\nfor (const f of process.argv.slice(2)) for (const t of parse(fs.readFileSync(f, 'utf8'))) console.log(`${f}:${t.lineNumber}: ${t.tag} ${t.text}`);\n", mode: 0o755 },
    'node_modules/todo-comments/README.md': '# todo-comments\n\nFinds TODO comments in text.\n',
    'node_modules/todo-comments/node_modules/@acme-oss/text-utils/package.json': json({ name: '@acme-oss/text-utils', version: '0.2.4', main: 'index.js', license: 'MIT' }),
    'node_modules/todo-comments/node_modules/@acme-oss/text-utils/index.js': textUtils('0.2.4'),
    'node_modules/.bin/todo-comments': { symlink: '../todo-comments/bin/cli.js' },
  }
}

// ---------------------------------------------------------------------------
// frontend plugin

const SCALPRUM = 'acme.plugin-todo-frontend'

const frontendSource = {
  'package.json': json({
    name: `${SCOPE}/plugin-todo-frontend`,
    version: VERSION,
    description: 'A TODO page and an entity card for Backstage',
    license: 'Apache-2.0',
    main: 'src/index.ts',
    types: 'src/index.ts',
    backstage: { role: 'frontend-plugin', pluginId: 'todo', pluginPackages: [`${SCOPE}/plugin-todo-frontend`, `${SCOPE}/plugin-todo-backend`, `${SCOPE}/plugin-todo-common`] },
    scalprum: { name: SCALPRUM, exposedModules: { PluginRoot: './src/index.ts' } },
    scripts: { build: 'backstage-cli package build', 'export-dynamic': 'rhdh-cli plugin export' },
    dependencies: { '@backstage/core-plugin-api': '^1.10.0', [`${SCOPE}/plugin-todo-common`]: `^${VERSION}` },
    peerDependencies: { react: '^18.0.0' },
    files: ['dist'],
  }),
  'app-config.yaml': `dynamicPlugins:
  frontend:
    ${SCALPRUM}:
      dynamicRoutes:
        - path: /todo
          importName: TodoPage
          menuItem:
            icon: checklist
            text: TODOs
      mountPoints:
        - mountPoint: entity.page.overview/cards
          importName: EntityTodoCard
          config:
            layout:
              gridColumnEnd: 'span 6'
`,
  'src/index.ts': "export { todoPlugin, TodoPage, EntityTodoCard } from './plugin';\n",
  'src/plugin.ts': `import { createPlugin, createRoutableExtension, createComponentExtension } from '@backstage/core-plugin-api';
import { rootRouteRef } from './routes';

export const todoPlugin = createPlugin({ id: 'todo', routes: { root: rootRouteRef } });
export const TodoPage = todoPlugin.provide(
  createRoutableExtension({ name: 'TodoPage', component: () => import('./components/TodoPage').then(m => m.TodoPage), mountPoint: rootRouteRef }),
);
export const EntityTodoCard = todoPlugin.provide(
  createComponentExtension({ name: 'EntityTodoCard', component: { lazy: () => import('./components/TodoCard').then(m => m.TodoCard) } }),
);
`,
  'README.md': '# todo\n\nShows the TODO comments the todo backend finds.\n',
}

function frontendDistDynamic () {
  const exposed = `"use strict";(self.webpackChunkacme_plugin_todo_frontend=self.webpackChunkacme_plugin_todo_frontend||[]).push([["exposed-PluginRoot"],{
"./src/index.ts":(e,t,o)=>{o.r(t),o.d(t,{EntityTodoCard:()=>c,TodoPage:()=>a,todoPlugin:()=>n});
var r=o("@backstage/core-plugin-api"),i=(0,r.createRouteRef)({id:"todo"}),
n=(0,r.createPlugin)({id:"todo",routes:{root:i}}),
a=n.provide((0,r.createRoutableExtension)({name:"TodoPage",component:()=>o.e("TodoPage").then(o.bind(o,"./src/components/TodoPage.tsx")).then(e=>e.TodoPage),mountPoint:i})),
c=n.provide((0,r.createComponentExtension)({name:"EntityTodoCard",component:{lazy:()=>o.e("TodoCard").then(o.bind(o,"./src/components/TodoCard.tsx")).then(e=>e.TodoCard)}}))}}]);
`
  const page = `"use strict";(self.webpackChunkacme_plugin_todo_frontend=self.webpackChunkacme_plugin_todo_frontend||[]).push([["TodoPage"],{
"./src/components/TodoPage.tsx":(e,t,o)=>{o.r(t),o.d(t,{TodoPage:()=>s});var r=o("react"),n=o("@backstage/core-components"),
s=()=>r.createElement(n.Page,{themeId:"tool"},r.createElement(n.Header,{title:"TODOs"}),r.createElement(n.Content,null,r.createElement(n.InfoCard,{title:"Open TODO comments"},"Loading…")))}}]);
`
  const card = `"use strict";(self.webpackChunkacme_plugin_todo_frontend=self.webpackChunkacme_plugin_todo_frontend||[]).push([["TodoCard"],{
"./src/components/TodoCard.tsx":(e,t,o)=>{o.r(t),o.d(t,{TodoCard:()=>s});var r=o("react"),n=o("@backstage/core-components"),
s=()=>r.createElement(n.InfoCard,{title:"TODOs"},r.createElement(n.Progress,null))}}]);
`
  const files = {
    [`static/exposed-PluginRoot.${hash(exposed)}.js`]: exposed,
    [`static/TodoPage.${hash(page)}.js`]: page,
    [`static/TodoCard.${hash(card)}.js`]: card,
  }
  const entry = `var ${SCALPRUM.replace(/[.-]/g, '_')};(()=>{"use strict";var e={},r={};function o(t){var n=r[t];if(void 0!==n)return n.exports;var a=r[t]={exports:{}};return e[t](a,a.exports,o),a.exports}
o.m=e,o.u=e=>"static/"+e+"."+${JSON.stringify(Object.fromEntries(Object.keys(files).map((f) => [f.split('/')[1].split('.')[0], f.split('.')[1]])))}[e]+".js";
window[${JSON.stringify(SCALPRUM)}]=window[${JSON.stringify(SCALPRUM)}]||{};
window.__scalprum__?.pluginInitialized?.(${JSON.stringify(SCALPRUM)},{get:(m)=>o.e(m.slice(2)).then(()=>()=>o("./src/index.ts"))});})();
`
  const entryFile = `${SCALPRUM}.${hash(entry)}.js`
  const schema = { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', properties: {} }
  return {
    '.gitignore': '*\n',
    'package.json': json({
      name: `${SCOPE}/plugin-todo-frontend-dynamic`,
      version: VERSION,
      description: 'A TODO page and an entity card for Backstage',
      main: 'dist/index.esm.js',
      types: 'dist/index.d.ts',
      license: 'Apache-2.0',
      backstage: { role: 'frontend-plugin', pluginId: 'todo', pluginPackages: [`${SCOPE}/plugin-todo-frontend`, `${SCOPE}/plugin-todo-backend`, `${SCOPE}/plugin-todo-common`] },
      keywords: ['backstage', 'dynamic-plugin', 'todo'],
      scalprum: { name: SCALPRUM, exposedModules: { PluginRoot: './src/index.ts' } },
      sideEffects: false,
      scripts: {},
      dependencies: { '@backstage/core-plugin-api': '^1.10.0', [`${SCOPE}/plugin-todo-common`]: `^${VERSION}` },
      devDependencies: {},
      peerDependencies: { react: '^18.0.0' },
      files: ['dist', 'dist-scalprum'],
    }),
    'README.md': frontendSource['README.md'],
    'dist/index.esm.js': "export { EntityTodoCard, TodoPage, todoPlugin } from './plugin.esm.js';\n//# sourceMappingURL=index.esm.js.map\n",
    'dist/index.esm.js.map': json({ version: 3, file: 'index.esm.js', sources: ['../src/index.ts'], names: [], mappings: ';' }),
    'dist/plugin.esm.js': "import { createPlugin, createRoutableExtension, createComponentExtension, createRouteRef } from '@backstage/core-plugin-api';\n\nconst rootRouteRef = createRouteRef({ id: 'todo' });\nconst todoPlugin = createPlugin({ id: 'todo', routes: { root: rootRouteRef } });\nconst TodoPage = todoPlugin.provide(createRoutableExtension({ name: 'TodoPage', component: () => import('./components/TodoPage.esm.js').then(m => m.TodoPage), mountPoint: rootRouteRef }));\nconst EntityTodoCard = todoPlugin.provide(createComponentExtension({ name: 'EntityTodoCard', component: { lazy: () => import('./components/TodoCard.esm.js').then(m => m.TodoCard) } }));\n\nexport { EntityTodoCard, TodoPage, todoPlugin };\n",
    'dist/components/TodoPage.esm.js': "import React from 'react';\nimport { Page, Header, Content, InfoCard } from '@backstage/core-components';\n\nconst TodoPage = () => React.createElement(Page, { themeId: 'tool' }, React.createElement(Header, { title: 'TODOs' }), React.createElement(Content, null, React.createElement(InfoCard, { title: 'Open TODO comments' }, 'Loading…')));\n\nexport { TodoPage };\n",
    'dist/components/TodoCard.esm.js': "import React from 'react';\nimport { InfoCard, Progress } from '@backstage/core-components';\n\nconst TodoCard = () => React.createElement(InfoCard, { title: 'TODOs' }, React.createElement(Progress, null));\n\nexport { TodoCard };\n",
    'dist/index.d.ts': "import * as _backstage_core_plugin_api from '@backstage/core-plugin-api';\nimport * as react from 'react';\n\ndeclare const todoPlugin: _backstage_core_plugin_api.BackstagePlugin<{ root: _backstage_core_plugin_api.RouteRef<undefined> }, {}>;\ndeclare const TodoPage: () => react.JSX.Element;\ndeclare const EntityTodoCard: () => react.JSX.Element;\n\nexport { EntityTodoCard, TodoPage, todoPlugin };\n",
    'dist/.config-schema.json': json({ schemas: [], backstageConfigSchemaVersion: 1 }),
    'dist-scalprum/plugin-manifest.json': json({
      name: SCALPRUM,
      version: VERSION,
      extensions: [],
      registrationMethod: 'callback',
      baseURL: 'auto',
      loadScripts: [entryFile],
      buildHash: hash(entry + Object.values(files).join('')),
    }),
    [`dist-scalprum/${entryFile}`]: entry,
    ...Object.fromEntries(Object.entries(files).map(([f, c]) => [`dist-scalprum/${f}`, c])),
    'dist-scalprum/configSchema.json': json(schema),
  }
}

// ---------------------------------------------------------------------------
// the monorepo

const commonSource = {
  'package.json': json({
    name: `${SCOPE}/plugin-todo-common`,
    version: VERSION,
    description: 'Types shared by the todo plugins',
    license: 'Apache-2.0',
    main: 'src/index.ts',
    backstage: { role: 'common-library', pluginId: 'todo', pluginPackages: [`${SCOPE}/plugin-todo-frontend`, `${SCOPE}/plugin-todo-backend`, `${SCOPE}/plugin-todo-common`] },
  }),
  'src/index.ts': 'export type TodoItem = { tag: string; text: string; lineNumber: number };\n',
}

const rootManifest = json({
  name: 'dynpack-examples',
  private: true,
  description: 'A Backstage monorepo with two exported dynamic plugins, generated by make-examples.js',
  workspaces: ['plugins/*'],
})

/** Writes a `{ relativePath: content | {content, mode} | {symlink} }` tree under `dir`. */
function writeTree (dir, tree) {
  for (const [rel, value] of Object.entries(tree)) {
    const file = path.join(dir, ...rel.split('/'))
    fs.mkdirSync(path.dirname(file), { recursive: true })
    if (value.symlink) {
      fs.symlinkSync(value.symlink, file)
    } else {
      const content = typeof value === 'string' ? value : value.content
      fs.writeFileSync(file, content)
      fs.chmodSync(file, typeof value === 'string' ? 0o644 : value.mode)
    }
  }
}

/**
 * Writes the example monorepo into `root` (its `plugins/` folder is replaced).
 * Returns the paths the demo and the tests use.
 */
function makeExamples (root) {
  root = path.resolve(root)
  const plugins = path.join(root, 'plugins')
  fs.rmSync(plugins, { recursive: true, force: true })
  fs.mkdirSync(root, { recursive: true })
  fs.writeFileSync(path.join(root, 'package.json'), rootManifest)
  const backend = path.join(plugins, 'todo-backend')
  const frontend = path.join(plugins, 'todo-frontend')
  writeTree(backend, backendSource)
  writeTree(path.join(backend, 'dist-dynamic'), backendDistDynamic())
  writeTree(frontend, frontendSource)
  writeTree(path.join(frontend, 'dist-dynamic'), frontendDistDynamic())
  writeTree(path.join(plugins, 'todo-common'), commonSource)
  return {
    root,
    backend,
    frontend,
    common: path.join(plugins, 'todo-common'),
    backendDistDynamic: path.join(backend, 'dist-dynamic'),
    frontendDistDynamic: path.join(frontend, 'dist-dynamic'),
  }
}

module.exports = { makeExamples }

if (require.main === module) {
  const r = makeExamples(process.argv[2] ?? __dirname)
  console.log(`wrote ${path.relative(process.cwd(), path.join(r.root, 'plugins')) || '.'}/`)
}
