'use strict';
/*
 * The views as LuCI loads them (tests/luci.js), for logins of each role, with the ACL
 * files as rpcd reads them (tests/rpcd.js):
 *   - every file loads the way luci.js loads it and yields a class;
 *   - every ubus method the views declare is in `keeplite rpcd list` (KEEPLITE_RPCD_LIST,
 *     the live output; else the fixture) with the same parameters, and is granted by the
 *     role of the package's ACL that keeplite.model names for it;
 *   - the menu shows the pages to each role as README.md says, and the status page shows
 *     each role exactly the buttons its ACL grants, each behind a confirmation;
 *   - the settings view's options are options of keeplite's schema (src/config/schema.rs),
 *     a list where keeplite takes a list, each with keeplite's check.
 * KEEPLITE_ACL names the package's ACL file (default: the one in image/openwrt/keeplite).
 */
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { t, run } = require('./harness');
const luci = require('./luci');
const rpcd = require('./rpcd');

const APP = path.join(__dirname, '..');
const REPO = path.join(APP, '..', '..', '..');
const readJSON = f => JSON.parse(fs.readFileSync(f, 'utf8'));
const fixtures = path.join(__dirname, 'fixtures');
const fixture = name => readJSON(path.join(fixtures, name + '.json'));

const packageAclFile = process.env.KEEPLITE_ACL || path.join(REPO, 'image', 'openwrt', 'keeplite', 'files', 'keeplite.acl.json');
const packageAcl = readJSON(packageAclFile);
const appAcl = readJSON(path.join(APP, 'root', 'usr', 'share', 'rpcd', 'acl.d', 'luci-app-keeplite.json'));
const menu = readJSON(path.join(APP, 'root', 'usr', 'share', 'luci', 'menu.d', 'luci-app-keeplite.json'));
const rpcdList = readJSON(process.env.KEEPLITE_RPCD_LIST || path.join(fixtures, 'rpcd-list.json'));

const ROLES = [ 'keeplite-read', 'keeplite-ops', 'keeplite-admin' ];

/* The rpcd logins README.md gives, plus root's and one without keeplite's roles. */
const LOGINS = {
	viewer: { read: [ 'luci-app-keeplite', 'keeplite-read' ] },
	operator: { read: [ 'luci-app-keeplite', 'keeplite-read' ], write: [ 'keeplite-ops' ] },
	admin: { read: [ 'keeplite-read' ], write: [ 'luci-app-keeplite', 'keeplite-ops', 'keeplite-admin' ] },
	root: { read: [ '*' ], write: [ '*' ] },
	stranger: { read: [ 'luci-app-keeplite' ] }
};

function aclsOf(login) {
	return rpcd.sessionAcls([ packageAcl, appAcl ], login);
}

/* Loads a view with the answers of `login`'s session and the status reply `status`. */
function loadView(name, login, status, extra) {
	const acls = aclsOf(login);
	const rt = luci.runtime(Object.assign({
		rpc(object, method, params) {
			if (object === 'session' && method === 'access')
				return { access: rpcd.access(acls, params.scope, params.object, params['function']) };
			if (object === 'keeplite' && !rpcd.access(acls, 'ubus', object, method))
				return new Error('Access denied');
			if (object === 'keeplite' && method === 'status')
				return status;
			if (object === 'keeplite')
				return (extra && extra[method]) || { ok: true, schema: 1 };
			return null;
		}
	}, extra || {}));
	const view = rt.require(name);
	return { rt, view };
}

const buttons = n => luci.findAll(n, x => x.tag === 'button');
const label = b => luci.textOf(b);

t('the package ACL has the three roles', () => {
	const missing = ROLES.filter(r => !packageAcl[r]);
	assert.deepStrictEqual(missing, [], packageAclFile + ' lacks the role(s) ' + missing.join(', ') +
		' (issue 15 item 3 splits the package ACL into ' + ROLES.join(', ') + '); roles there: ' +
		Object.keys(packageAcl).join(', '));
});

t('every file loads as luci.js loads it and yields a class', () => {
	const rt = luci.runtime();
	for (const name of [ 'keeplite.model', 'view.keeplite.status', 'view.keeplite.config' ]) {
		const inst = rt.require(name);
		assert.ok(inst && typeof inst === 'object', name);
	}
	assert.ok(rt.require('view.keeplite.status') instanceof rt.View);
	assert.ok(rt.require('view.keeplite.config') instanceof rt.View);
	assert.strictEqual(rt.require('view.keeplite.status').handleSaveApply, null);
	assert.strictEqual(typeof rt.require('keeplite.model').statusView, 'function');
});

t('the menu\'s views exist and its ACL groups are defined', () => {
	for (const p of Object.keys(menu)) {
		const n = menu[p];
		assert.strictEqual(n.action.type, 'view', p);
		const file = path.join(APP, 'htdocs', 'luci-static', 'resources', 'view', n.action.path + '.js');
		assert.ok(fs.existsSync(file), p + ': no ' + file);
		for (const g of n.depends.acl)
			assert.ok(appAcl[g] || packageAcl[g], p + ': ACL group ' + g + ' is defined nowhere');
	}
});

t('every keeplite method the views declare is in `keeplite rpcd list` and granted by its role', () => {
	const rt = luci.runtime();
	rt.require('view.keeplite.status');
	rt.require('view.keeplite.config');
	const model = rt.require('keeplite.model');
	const declared = rt.declared.filter(d => d.object === 'keeplite');
	assert.ok(declared.length > 0);
	for (const d of declared) {
		assert.ok(rpcdList[d.method], d.method + ' is not in keeplite rpcd list: ' + JSON.stringify(rpcdList));
		assert.deepStrictEqual((d.params || []).slice().sort(), Object.keys(rpcdList[d.method]).sort(), d.method);
		const role = (model.METHODS[d.method] || {}).role;
		assert.ok(role, d.method + ' has no role in keeplite.model');
		assert.ok(packageAcl[role], 'role ' + role + ' (for ' + d.method + ') is not in ' + packageAclFile);
		const acls = rpcd.sessionAcls([ packageAcl ], { write: [ role ] });
		assert.ok(rpcd.access(acls, 'ubus', 'keeplite', d.method), role + ' does not grant ' + d.method);
	}
	/* And the other declarations: session access only. */
	assert.deepStrictEqual(rt.declared.filter(d => d.object !== 'keeplite').map(d => d.object + '.' + d.method),
		[ 'session.access' ]);
	/* uci: read for keeplite-read, write for keeplite-admin. */
	assert.ok(rpcd.access(rpcd.sessionAcls([ packageAcl ], { read: [ model.UCI.read.role ] }), 'uci', 'keeplite', 'read'));
	assert.ok(rpcd.access(rpcd.sessionAcls([ packageAcl ], { write: [ model.UCI.write.role ] }), 'uci', 'keeplite', 'write'));
});

t('roles grant what README.md says, and no more', () => {
	const methods = role => Object.keys(rpcdList).filter(m =>
		rpcd.access(rpcd.sessionAcls([ packageAcl ], { write: [ role ] }), 'ubus', 'keeplite', m));
	assert.deepStrictEqual(methods('keeplite-read').sort(), [ 'counters', 'status', 'virtual_servers', 'vrrp' ]);
	assert.deepStrictEqual(methods('keeplite-ops').sort(), [ 'drain', 'hold', 'reload', 'set_weight', 'undrain', 'yield' ]);
	assert.deepStrictEqual(methods('keeplite-admin'), []);
	const uciWrite = role => rpcd.access(rpcd.sessionAcls([ packageAcl ], { write: [ role ] }), 'uci', 'keeplite', 'write');
	assert.deepStrictEqual(ROLES.map(uciWrite), [ false, false, true ]);
	/* The app's own group grants no keeplite method and no configuration. */
	const app = rpcd.sessionAcls([ appAcl ], { write: [ 'luci-app-keeplite' ] });
	assert.ok(!app.some(a => a.object === 'keeplite'), JSON.stringify(app));
	assert.ok(rpcd.access(app, 'ubus', 'session', 'access'));
});

t('the menu: each login sees the pages its roles allow', () => {
	const pages = login => Object.keys(menu).filter(p => rpcd.menuAccess(menu[p], aclsOf(login)) !== null).sort();
	for (const who of [ 'viewer', 'operator', 'admin', 'root' ])
		assert.deepStrictEqual(pages(LOGINS[who]), [ 'admin/services/keeplite', 'admin/status/keeplite' ], who);
	assert.deepStrictEqual(pages(LOGINS.stranger), []);
});

for (const [ who, want ] of Object.entries({
	viewer: { buttons: [], reload: false, configWrite: false },
	operator: { buttons: [ 'Drain', 'Set weight…', 'Undrain', 'Yield…', 'Hold', 'End yield', 'Release' ], reload: true, configWrite: false },
	admin: { buttons: [ 'Drain', 'Set weight…', 'Undrain', 'Yield…', 'Hold', 'End yield', 'Release' ], reload: true, configWrite: true },
	root: { buttons: [ 'Drain', 'Set weight…', 'Undrain', 'Yield…', 'Hold', 'End yield', 'Release' ], reload: true, configWrite: true },
	stranger: { buttons: null }
})) {
	t('status page for the ' + who + ': ' + (want.buttons == null ? 'no status' : (want.buttons.length ? 'buttons' : 'no buttons')), async () => {
		const { rt, view } = loadView('view.keeplite.status', LOGINS[who], fixture('status-a'));
		const data = await view.load();
		const page = view.render(data);
		const text = luci.textOf(page);
		if (want.buttons == null) {
			assert.match(text, /keeplite-read/);
			assert.ok(!rt.calls.some(c => c.object === 'keeplite'), 'called keeplite without the role');
			return;
		}
		assert.deepStrictEqual(rt.calls.filter(c => c.object === 'keeplite').map(c => c.method), [ 'status' ]);
		assert.strictEqual(rt.polls.length, 1);
		const got = [ ...new Set(buttons(page).map(label).filter(l => !/Reload/.test(l))) ];
		assert.deepStrictEqual(got.sort(), want.buttons.slice().sort());
		assert.strictEqual(buttons(page).some(b => /Reload/.test(label(b))), want.reload);
		assert.strictEqual(data[0].configWrite, want.configWrite);
		/* Every instance and real server of the reply is on the page, with its state. */
		const states = luci.findAll(page, n => n.attrs && n.attrs['data-instance'] != null)
			.map(n => n.attrs['data-instance'] + '=' + n.attrs['data-state']);
		assert.deepStrictEqual(states, [ 'gw=master', 'gw6=backup', 'lan2=backup', 'wan=fault' ]);
		const health = luci.findAll(page, n => n.attrs && n.attrs['data-real-server'] != null)
			.map(n => n.attrs['data-real-server'] + '=' + n.attrs['data-health']);
		assert.ok(health.includes('web2=down') && health.includes('web1=up') && health.includes('dns2=down'), health.join());
		assert.match(text, /connection refused/);
		assert.match(text, /edge-a/);
	});
}

t('drain asks first, then calls drain with the real server\'s name', async () => {
	const { rt, view } = loadView('view.keeplite.status', LOGINS.operator, fixture('status-a'), { drain: fixture('drain-ok') });
	const page = view.render(await view.load());
	const drain = buttons(page).find(b => label(b) === 'Drain');
	drain.attrs.click();
	assert.ok(!rt.calls.some(c => c.method === 'drain'), 'drain called before the confirmation');
	const modal = rt.modals[rt.modals.length - 1];
	assert.match(modal.title, /Drain/);
	assert.match(luci.textOf(modal.body), /web1/);
	const confirm = buttons(modal.body).find(b => label(b) === 'Confirm');
	await confirm.attrs.click();
	const call = rt.calls.find(c => c.method === 'drain');
	assert.deepStrictEqual(call.params, { name: 'web1' });
	assert.deepStrictEqual(rt.notifications, []);
	/* And the page asked for a fresh status. */
	assert.strictEqual(rt.calls.filter(c => c.method === 'status').length, 2);
});

t('keeplite\'s refusal is shown', async () => {
	const { rt, view } = loadView('view.keeplite.status', LOGINS.operator, fixture('status-a'), { drain: fixture('drain-unknown') });
	const page = view.render(await view.load());
	buttons(page).find(b => label(b) === 'Drain').attrs.click();
	await buttons(rt.modals[rt.modals.length - 1].body).find(b => label(b) === 'Confirm').attrs.click();
	assert.strictEqual(rt.notifications.length, 1);
	assert.match(rt.notifications[0].body, /no real server "nobody"/);
	assert.strictEqual(rt.notifications[0].kind, 'danger');
});

t('set weight checks the number, then sends it as an integer', async () => {
	const { rt, view } = loadView('view.keeplite.status', LOGINS.operator, fixture('status-a'), { set_weight: fixture('set_weight-ok') });
	const page = view.render(await view.load());
	buttons(page).find(b => label(b) === 'Set weight…').attrs.click();
	const body = rt.modals[rt.modals.length - 1].body;
	const input = luci.findAll(body, n => n.tag === 'input')[0];
	input.value = '70000';
	await buttons(body).find(b => label(b) === 'Confirm').attrs.click();
	assert.ok(!rt.calls.some(c => c.method === 'set_weight'));
	assert.match(luci.textOf(body), /out of range/);
	input.value = '7';
	await buttons(body).find(b => label(b) === 'Confirm').attrs.click();
	assert.deepStrictEqual(rt.calls.find(c => c.method === 'set_weight').params, { name: 'web1', weight: 7 });
});

t('yield and hold carry the instance; releasing sends on false', async () => {
	const { rt, view } = loadView('view.keeplite.status', LOGINS.operator, fixture('status-a'),
		{ yield: fixture('yield-ok'), hold: fixture('hold-ok') });
	const page = view.render(await view.load());
	buttons(page).find(b => label(b) === 'Release').attrs.click();
	await buttons(rt.modals[rt.modals.length - 1].body).find(b => label(b) === 'Confirm').attrs.click();
	assert.deepStrictEqual(rt.calls.find(c => c.method === 'hold').params, { instance: 'lan2', on: false });
	buttons(page).find(b => label(b) === 'End yield').attrs.click();
	await buttons(rt.modals[rt.modals.length - 1].body).find(b => label(b) === 'Confirm').attrs.click();
	assert.deepStrictEqual(rt.calls.find(c => c.method === 'yield').params, { instance: 'gw6', seconds: 0 });
});

t('a daemon that does not answer: a banner, the last tables kept', async () => {
	let reply = fixture('status-a');
	const { rt, view } = loadView('view.keeplite.status', LOGINS.viewer, null, {
		rpc(object, method, params) {
			if (object === 'session')
				return { access: true };
			return reply;
		}
	});
	const page = view.render(await view.load());
	reply = fixture('no-daemon');
	await rt.polls[0]();
	assert.match(luci.textOf(page), /no such socket/);
	assert.ok(luci.findAll(page, n => n.attrs && n.attrs['data-instance'] === 'gw').length === 1);
});

/* keeplite's schema: { type: { option: isList } } from src/config/schema.rs. */
function schema() {
	const src = fs.readFileSync(path.join(REPO, 'src', 'config', 'schema.rs'), 'utf8');
	const notify = {};
	(src.match(/const NOTIFY[^=]*=\s*\[([\s\S]*?)\];/) || [ '', '' ])[1]
		.replace(/(one|list)\("([a-z_]+)"\)/g, (m, k, n) => { notify[n] = k === 'list'; });
	const out = {};
	const re = /kind:\s*"([a-z_]+)",\s*options:\s*&\[([\s\S]*?)\],\s*\}/g;
	let m;
	while ((m = re.exec(src))) {
		const opts = {};
		m[2].replace(/(one|list)\("([a-z_]+)"\)/g, (x, k, n) => { opts[n] = k === 'list'; });
		if (/NOTIFY\[/.test(m[2]))
			Object.assign(opts, notify);
		out[m[1]] = opts;
	}
	return out;
}

t('the settings view: options of keeplite\'s schema, lists where keeplite takes lists, each checked', async () => {
	const sch = schema();
	assert.ok(sch.vrrp && sch.vrrp.vip === true && sch.vrrp.vrid === false && sch.vrrp.notify_master === false,
		'schema.rs parsed: ' + JSON.stringify(sch.vrrp));
	const { rt, view } = loadView('view.keeplite.config', LOGINS.admin, null, {
		uci: { web: { '.type': 'virtual_server' }, gw: { '.type': 'vrrp' } }
	});
	await view.load();
	assert.strictEqual(rt.uciLoaded, 'keeplite');
	await view.render();
	assert.strictEqual(rt.map.config, 'keeplite');
	const model = rt.require('keeplite.model');
	const types = rt.sections.map(s => s.sectiontype);
	assert.deepStrictEqual(types.slice().sort(), Object.keys(sch).sort());
	for (const s of rt.sections) {
		for (const o of s.children) {
			const where = s.sectiontype + '.' + o.option;
			assert.ok(o.option in sch[s.sectiontype], where + ' is not an option of keeplite');
			assert.strictEqual(o.widget === 'dynlist', sch[s.sectiontype][o.option], where + ': list or not');
			assert.strictEqual(typeof o.validate, 'function', where + ' has no check');
			if (model.OPTIONS[s.sectiontype] && model.OPTIONS[s.sectiontype][o.option])
				continue;
			/* The others are references to sections, checked by name. */
			assert.ok([ 'members', 'virtual_server', 'check', 'track_script', 'instance' ].includes(o.option), where + ': no keeplite.model check');
		}
	}
	const opt = (type, name) => rt.sections.find(s => s.sectiontype === type).children.find(o => o.option === name);
	/* The required ones refuse an empty value; references must name a section. */
	assert.notStrictEqual(opt('vrrp', 'vrid').validate('gw', ''), true);
	assert.strictEqual(opt('vrrp', 'vrid').validate('gw', '51'), true);
	assert.notStrictEqual(opt('vrrp', 'vrid').validate('gw', '256'), true);
	assert.strictEqual(opt('real_server', 'virtual_server').validate('r', [ 'web' ]), true);
	assert.strictEqual(opt('real_server', 'virtual_server').validate('r', [ '@virtual_server[0]' ]), true);
	assert.notStrictEqual(opt('real_server', 'virtual_server').validate('r', [ 'nope' ]), true);
	assert.notStrictEqual(opt('real_server', 'virtual_server').validate('r', []), true);
	/* A section name keeplite refuses is not added. */
	const vrrp = rt.sections.find(s => s.sectiontype === 'vrrp');
	rt.added = null;
	await vrrp.handleAdd({}, 'keeplite');
	assert.strictEqual(rt.added, null);
	await vrrp.handleAdd({}, 'gw2');
	assert.strictEqual(rt.added, 'gw2');
});

run(__filename);
