'use strict';
/*
 * keeplite.model under node, against replies captured from live daemons (fixtures/, or
 * the folder KEEPLITE_FIXTURES names: the test script captures a fresh set there too, so
 * that a change of keeplite's replies shows here), and the status example of
 * docs/status.md (the only one with kernel counters: this host has no IPVS).
 */
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { t, run } = require('./harness');
const model = require('../htdocs/luci-static/resources/keeplite/model.js');

const dir = process.env.KEEPLITE_FIXTURES || path.join(__dirname, 'fixtures');
const fixture = name => JSON.parse(fs.readFileSync(path.join(dir, name + '.json'), 'utf8'));

const ALL = {};
model.accessQueries().forEach(q => ALL[model.accessKey(q[0], q[1], q[2])] = true);
const READ_ONLY = { [model.accessKey('ubus', 'keeplite', 'status')]: true,
	[model.accessKey('uci', 'keeplite', 'read')]: true };

const inst = (v, name) => v.instances.find(i => i.name === name);
const rs = (v, service, name) => v.services.find(s => s.name === service).realServers.find(r => r.name === name);

t('box a: every VRRP instance with its state, badge and why', () => {
	const v = model.statusView(fixture('status-a'));
	assert.strictEqual(v.ok, true);
	assert.strictEqual(v.routerId, 'edge-a');
	assert.strictEqual(v.ipvs, 'unavailable');
	assert.deepStrictEqual(v.instances.map(i => i.name), [ 'gw', 'gw6', 'lan2', 'wan' ]);
	const gw = inst(v, 'gw');
	assert.deepStrictEqual([ gw.state, gw.stateBadge ], [ 'master', { label: 'MASTER', cls: 'label success' } ]);
	assert.strictEqual(gw.master, '198.51.100.1');
	assert.strictEqual(gw.priority, '200');
	assert.deepStrictEqual(gw.vips, [ '198.51.100.100/24' ]);
	assert.match(gw.since, /^[0-9]+(s|m[0-9]{2}s)$/);
	const gw6 = inst(v, 'gw6');
	assert.strictEqual(gw6.stateBadge.cls, 'label notice');
	assert.ok(gw6.yieldLeft > 0 && gw6.yieldLeft <= 600, JSON.stringify(gw6));
	assert.match(gw6.notes.join(), /^yield (9m[0-9]{2}s|10m00s)$/);
	assert.deepStrictEqual(gw6.vips, [ 'fe80::52/64', '2001:db8:1::100/64' ]);
	const lan2 = inst(v, 'lan2');
	assert.deepStrictEqual([ lan2.state, lan2.held, lan2.notes ], [ 'backup', true, [ 'held' ] ]);
	const wan = inst(v, 'wan');
	assert.deepStrictEqual([ wan.state, wan.fault, wan.stateBadge.cls, wan.master ],
		[ 'fault', 'no interface', 'label danger', '-' ]);
	assert.deepStrictEqual(wan.notes, [ 'no interface' ]);
});

t('box a: every virtual service with its real servers in each health state', () => {
	const v = model.statusView(fixture('status-a'));
	assert.deepStrictEqual(v.services.map(s => [ s.name, s.service, s.scheduler, s.forward, s.quorumBadge.cls ]), [
		[ 'web', 'tcp 198.51.100.100:80', 'wlc', 'nat', 'label success' ],
		[ 'dns', 'udp 198.51.100.100:53', 'rr', 'dr', 'label success' ]
	]);
	const web1 = rs(v, 'web', 'web1');
	assert.deepStrictEqual([ web1.endpoint, web1.health, web1.healthBadge.cls, web1.weight, web1.checkPassed ],
		[ '198.51.100.3:80', 'up', 'label success', '100', true ]);
	assert.match(web1.check, /^ok \([0-9]+ ms, [0-9]+s ago\)$/);
	assert.match(rs(v, 'web', 'web2').check, /^connection refused \(/);
	assert.strictEqual(rs(v, 'web', 'web2').healthBadge.cls, 'label danger');
	assert.match(rs(v, 'web', 'web3').check, /^bad status 404 \(/);
	assert.strictEqual(rs(v, 'web', 'web7').health, 'down');
	assert.match(rs(v, 'dns', 'dns2').check, /^exit code 3 \(/);
	/* Without checks: up, and no last check. */
	assert.deepStrictEqual([ rs(v, 'web', 'web4').health, rs(v, 'web', 'web4').check ], [ 'up', '-' ]);
	assert.strictEqual(rs(v, 'dns', 'web4').endpoint, '198.51.100.4:53');
	/* Drained: weight 0 and a badge that says so; set_weight: the new weight. */
	const web5 = rs(v, 'web', 'web5');
	assert.deepStrictEqual([ web5.drained, web5.weight, web5.healthBadge ],
		[ true, '0', { label: 'drained', cls: 'label warning' } ]);
	assert.strictEqual(rs(v, 'web', 'web6').weight, '5');
	/* No IPVS here: nothing in the kernel, shown as '-'. */
	assert.deepStrictEqual([ web1.kernelWeight, web1.active, web1.conns ], [ '-', '-', '-' ]);
	/* web4 is in both services: one name for the actions. */
	assert.strictEqual(v.realServers.filter(n => n === 'web4').length, 1);
	assert.deepStrictEqual(v.realServers.slice().sort(),
		[ 'dns1', 'dns2', 'web1', 'web2', 'web3', 'web4', 'web5', 'web6', 'web7' ]);
});

t('box b: BACKUP with box a as its master', () => {
	const v = model.statusView(fixture('status-b'));
	const gw = inst(v, 'gw');
	assert.deepStrictEqual([ gw.state, gw.master, gw.stateBadge.label ], [ 'backup', '198.51.100.1', 'BACKUP' ]);
});

t('the per-part methods give the same rows as status', () => {
	const all = model.statusView(fixture('status-a'));
	const vs = model.statusView(fixture('virtual_servers-a'));
	assert.deepStrictEqual(vs.services.map(s => s.realServers.map(r => [ r.name, r.health ])),
		all.services.map(s => s.realServers.map(r => [ r.name, r.health ])));
	const vr = model.statusView(fixture('vrrp-a'));
	assert.deepStrictEqual(vr.instances.map(i => [ i.name, i.state ]), all.instances.map(i => [ i.name, i.state ]));
});

t('no daemon: an error to show, no rows', () => {
	const v = model.statusView(fixture('no-daemon'));
	assert.strictEqual(v.ok, false);
	assert.match(v.error, /no such socket; is keeplite running\?/);
	assert.deepStrictEqual([ v.instances, v.services ], [ [], [] ]);
	assert.strictEqual(model.statusView(null).ok, false);
	assert.strictEqual(model.statusView({ ok: true, schema: 1 }).instances.length, 0);
});

t('write replies: done, or keeplite\'s reason', () => {
	assert.strictEqual(model.replyError(fixture('drain-ok')), null);
	assert.strictEqual(model.replyError(fixture('set_weight-ok')), null);
	assert.strictEqual(model.replyError(fixture('hold-ok')), null);
	assert.strictEqual(model.replyError(fixture('yield-ok')), null);
	assert.strictEqual(model.replyError(fixture('drain-unknown')), 'no real server "nobody"');
	assert.strictEqual(typeof model.replyError(null), 'string');
});

t('the docs\' status example: kernel weights and counters', () => {
	const doc = fs.readFileSync(path.join(__dirname, '..', '..', '..', '..', 'docs', 'status.md'), 'utf8');
	const block = doc.split('### `status`')[1].split('```json')[1].split('```')[0];
	const v = model.statusView(JSON.parse(block));
	const web1 = rs(v, 'web', 'web1'), web2 = rs(v, 'web', 'web2');
	assert.deepStrictEqual([ web1.kernelWeight, web1.active, web1.inactive, web1.conns, web1.bytesIn ],
		[ '100', '12', '40', '18230', '58.2 MiB' ]);
	assert.deepStrictEqual([ web2.kernelWeight, web2.active ], [ '-', '-' ]);
	assert.strictEqual(v.ipvsAvailable, true);
	assert.strictEqual(inst(v, 'gw').since, '1h02m');
});

t('durations as keeplite status prints them', () => {
	assert.deepStrictEqual([ 0, 59, 60, 62, 3599, 3600, 3720, 86399, 93784, null, -1 ].map(model.duration),
		[ '0s', '59s', '1m00s', '1m02s', '59m59s', '1h00m', '1h02m', '23h59m', '1d02h', '-', '-' ]);
});

t('what a session may do: from its session access answers', () => {
	const none = model.permissions({});
	assert.deepStrictEqual([ none.status, none.anyAction, none.configWrite ], [ false, false, false ]);
	const ro = model.permissions(READ_ONLY);
	assert.deepStrictEqual([ ro.status, ro.anyAction, ro.configRead, ro.configWrite ], [ true, false, true, false ]);
	const all = model.permissions(ALL);
	assert.deepStrictEqual(all.actions, { drain: true, undrain: true, set_weight: true, yield: true, hold: true, reload: true });
	assert.ok(all.configWrite);
});

t('buttons: none for a read-only session; toggles by state for one that may', () => {
	const v = model.statusView(fixture('status-a'));
	const ro = model.permissions(READ_ONLY), all = model.permissions(ALL);
	for (const s of v.services)
		for (const r of s.realServers)
			assert.deepStrictEqual(model.realServerActions(r, ro), []);
	for (const i of v.instances)
		assert.deepStrictEqual(model.instanceActions(i, ro), []);
	const acts = (row, p) => model.realServerActions(row, p).map(a => a.action);
	assert.deepStrictEqual(acts(rs(v, 'web', 'web1'), all), [ 'drain', 'set_weight' ]);
	assert.deepStrictEqual(acts(rs(v, 'web', 'web5'), all), [ 'undrain', 'set_weight' ]);
	const iacts = name => model.instanceActions(inst(v, name), all).map(a => a.action);
	assert.deepStrictEqual(iacts('gw'), [ 'yield', 'hold' ]);
	assert.deepStrictEqual(iacts('gw6'), [ 'unyield', 'hold' ]);
	assert.deepStrictEqual(iacts('lan2'), [ 'yield', 'release' ]);
	assert.deepStrictEqual(iacts('wan'), [ 'hold' ]);
	/* Only drain granted: drain, no set_weight. */
	const drainOnly = model.permissions({ [model.accessKey('ubus', 'keeplite', 'drain')]: true });
	assert.deepStrictEqual(acts(rs(v, 'web', 'web1'), drainOnly), [ 'drain' ]);
	assert.deepStrictEqual(acts(rs(v, 'web', 'web5'), drainOnly), []);
});

t('action parameters: names and JSON types as `keeplite rpcd list` declares them', () => {
	const list = fixture('rpcd-list');
	const typeOf = v => (typeof v === 'string') ? 'str' : (typeof v === 'number') ? 32 : (typeof v === 'boolean') ? true : null;
	const cases = [ [ 'drain', 'web1' ], [ 'undrain', 'web1' ], [ 'set_weight', 'web1', '7' ],
		[ 'yield', 'gw', '60' ], [ 'unyield', 'gw' ], [ 'hold', 'gw' ], [ 'release', 'gw' ], [ 'reload', null ] ];
	for (const [ action, target, value ] of cases) {
		const p = model.actionParams(action, target, value);
		const method = { unyield: 'yield', release: 'hold' }[action] || action;
		const sig = list[method];
		assert.ok(sig, method + ' in rpcd list');
		assert.deepStrictEqual(Object.keys(p).sort(), Object.keys(sig).sort(), action);
		for (const k of Object.keys(sig))
			assert.deepStrictEqual(typeOf(p[k]), sig[k], action + '.' + k);
		assert.deepStrictEqual(model.METHODS[method].params.slice().sort(), Object.keys(sig).sort(), method);
	}
	assert.deepStrictEqual(model.actionParams('release', 'gw').on, false);
	assert.deepStrictEqual(model.actionParams('unyield', 'gw').seconds, 0);
});

t('confirmations name their target', () => {
	for (const a of [ 'drain', 'undrain', 'set_weight', 'yield', 'unyield', 'hold', 'release' ]) {
		const c = model.confirmation(a, 'web9', 42);
		assert.ok(c.title && c.text.indexOf('web9') >= 0, a);
	}
	assert.ok(/42/.test(model.confirmation('set_weight', 'web9', 42).text));
	assert.ok(model.confirmation('reload').text.length > 0);
});

t('set_weight and yield take what the daemon takes', () => {
	assert.deepStrictEqual([ '0', '65535', '100' ].map(model.validateWeight), [ true, true, true ]);
	for (const v of [ '-1', '65536', 'x', '', '1.5' ])
		assert.notStrictEqual(model.validateWeight(v), true, v);
	assert.strictEqual(model.validateSeconds('86400'), true);
	assert.notStrictEqual(model.validateSeconds('86401'), true);
});

run(__filename);
