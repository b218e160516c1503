'use strict';
/*
 * The settings view's option checks (keeplite.model OPTIONS) against keeplite itself: for
 * each sample value, a small /etc/config/keeplite with it goes through
 * `keeplite check-config --json` (KEEPLITE_BIN), and the page must accept exactly what
 * the daemon accepts. Context options (version, interval, ...) are written into the file
 * as the page would have them.
 */
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { t, run } = require('./harness');
const model = require('../htdocs/luci-static/resources/keeplite/model.js');

const bin = process.env.KEEPLITE_BIN;
if (!bin) {
	console.log('validate.test.js: KEEPLITE_BIN is not set (the test script sets it)');
	process.exit(1);
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keeplite-luci-validate.'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

const q = v => "'" + String(v).replace(/'/g, "'\\''") + "'";

/* A valid file with section `type` holding `opts` (name -> value or [values]). */
function file(type, opts) {
	const base = {
		global: { _name: 'g' },
		vrrp: { _name: 'gw', interface: 'eth0', vrid: '51', vip: [ '10.0.0.7/24' ] },
		script: { _name: 's', command: 'true' },
		virtual_server: { _name: 'web', address: '10.0.0.7', port: [ '80' ] },
		real_server: { _name: 'r', virtual_server: [ 'web' ], address: '10.0.0.1' },
		check: { _name: 'c', type: 'tcp' },
		route: { _name: 'rt', destination: '192.0.2.0/24', dev: 'eth0' },
		rule: { _name: 'ru', from: '192.0.2.0/24', table: '100' }
	}[type];
	const all = Object.assign({}, base, opts);
	let s = 'config ' + type + ' ' + q(all._name) + '\n';
	for (const k of Object.keys(all)) {
		if (k === '_name' || all[k] == null)
			continue;
		for (const v of (Array.isArray(all[k]) ? all[k] : [ all[k] ]))
			s += '\t' + (Array.isArray(all[k]) ? 'list' : 'option') + ' ' + k + ' ' + q(v) + '\n';
	}
	if (type === 'real_server')
		s = "config virtual_server 'web'\n\toption address '10.0.0.7'\n\tlist port '80'\n" + s;
	if (type !== 'vrrp')
		s += "config vrrp 'gw'\n\toption interface 'eth0'\n\toption vrid '51'\n\tlist vip '10.0.0.7/24'\n";
	return s;
}

function daemonAccepts(text) {
	const f = path.join(tmp, 'keeplite');
	fs.writeFileSync(f, text);
	const r = spawnSync(bin, [ 'check-config', '--json', '-f', f ], { encoding: 'utf8' });
	let j;
	try {
		j = JSON.parse(r.stdout);
	}
	catch (e) {
		throw new Error('check-config: ' + r.stdout + r.stderr);
	}
	return { valid: j.valid === true, errors: j.errors };
}

/* [type, option, [values...], context] */
const SAMPLES = [
	[ 'global', 'router_id', [ 'edge-a' ] ],
	[ 'global', 'log_level', [ 'info', 'debug', 'DEBUG', 'verbose', '' ] ],
	[ 'global', 'alert_email', [ 'noc@example.org', 'noc', '@x', 'a b@c', 'n@bad_host' ] ],
	[ 'global', 'smtp_server', [ '192.0.2.25', 'smtp.example.org:587', '[2001:db8::25]:25', '[2001:db8::25]', 'host:0', 'host:99999', 'bad_host', '2001:db8::25' ] ],
	[ 'global', 'smtp_from', [ 'keeplite@example.org', 'keeplite' ] ],
	[ 'global', 'startup_delay', [ '0', '30s', '1h', '3601s', '-1', '2x' ] ],
	[ 'global', 'script_user', [ 'nobody', 'a.b_c-d', '-x', 'a b', 'x'.repeat(33) ] ],
	[ 'vrrp', 'interface', [ 'br-lan', 'eth0.100', 'x'.repeat(15), 'x'.repeat(16), 'a/b', 'a:b', '.', '..' ] ],
	[ 'vrrp', 'vrid', [ '1', '255', '0', '256', '+5', '5x', '' ] ],
	[ 'vrrp', 'priority', [ '1', '255', '0', '300', 'high' ] ],
	[ 'vrrp', 'version', [ '2', '3', '4' ] ],
	[ 'vrrp', 'advert_int', [ '1', '1s', '100ms', '15ms', '10ms', '40.95s', '41s', '0.5', '1.5ms', '.25m', '2m', '0' ] ],
	[ 'vrrp', 'advert_int', [ '1', '2s', '100ms', '255s', '256s', '1.5' ], { version: '2' } ],
	[ 'vrrp', 'vip', [ [ '10.0.0.7/24' ], [ '10.0.0.7' ], [ '10.0.0.7/33' ], [ '2001:db8::7/64' ], [ 'fe80::1/64' ], [ '10.0.0.7/+24' ], [ 'x/24' ], [ '::ffff:10.0.0.1/128' ] ] ],
	[ 'vrrp', 'vip', [ [ '2001:db8::7/64' ], [ '10.0.0.7/24' ] ], { version: '2' } ],
	[ 'vrrp', 'vip', [ [ '10.0.0.7/24 dev eth0 label eth0:1' ], [ '10.0.0.7 dev eth1 label eth1:vip' ], [ '10.0.0.7/24 label eth1:1' ],
		[ '10.0.0.7/24 dev eth1 label eth10' ], [ '10.0.0.7/24 brd + scope link' ], [ '10.0.0.7/24 broadcast 10.0.0.255 scope 200' ],
		[ '10.0.0.7/24 scope galaxy' ], [ '10.0.0.7/24 brd 2001:db8::1' ], [ '2001:db8::7/64 brd +' ], [ '2001:db8::7/64 label eth0:1' ],
		[ '2001:db8::7/64 -nodad noprefixroute' ], [ '10.9.0.1 peer 10.9.0.2 no_track dev ppp0' ], [ '10.0.0.7/24 peer 2001:db8::1' ],
		[ '10.0.0.7/24 home' ], [ '10.0.0.7/24 dev' ], [ '10.0.0.7/24 dev eth:1' ], [ '10.0.0.7/24  dev\teth1' ] ], { interface: 'eth0' } ],
	[ 'vrrp', 'state', [ 'master', 'backup', 'MASTER', 'fault' ] ],
	[ 'vrrp', 'preempt', [ '1', '0', 'yes', 'off', 'maybe' ] ],
	[ 'vrrp', 'preempt_delay', [ '0', '10s', '1000s', '1001s' ] ],
	[ 'vrrp', 'src_ip', [ '10.0.0.1', '2001:db8::1', '10.0.0.256', '010.0.0.1' ] ],
	[ 'vrrp', 'unicast_peer', [ [ '10.0.0.2' ], [ '2001:db8::2' ], [ 'peer' ] ] ],
	[ 'vrrp', 'track_interface', [ [ 'wan' ], [ 'wan:-20' ], [ 'wan:254' ], [ 'wan:x' ], [ 'a/b' ] ] ],
	[ 'vrrp', 'auth_pass', [ 'secret', '12345678', '123456789' ], { version: '2' } ],
	[ 'vrrp', 'auth_pass', [ 'secret' ] ],
	[ 'vrrp', 'auth_hmac_key', [ [ '1 hex:' + 'ab'.repeat(32) ], [ '255 hex:' + 'AB'.repeat(64) ], [ '1 hex:' + 'ab'.repeat(31) ], [ '1 hex:' + 'ab'.repeat(65) ],
		[ '1 hex:' + '+f'.repeat(32) ], [ '1 hex:abc' ], [ '0 hex:' + 'ab'.repeat(32) ], [ '1 ' + 'x'.repeat(32) ], [ '7 ' + 'é'.repeat(16) ], [ '7 ' + 'x'.repeat(31) ],
		[ '1' ], [ '1 a b' ], [ '1 file:keys/k' ], [ 'x hex:' + 'ab'.repeat(32) ], [ '+1 hex:' + 'ab'.repeat(32) ], [ '0001 hex:' + 'ab'.repeat(32) ],
		[ '256 hex:' + 'ab'.repeat(32) ], [ 'hex:' + 'ab'.repeat(32) + ' 1' ] ] ],
	[ 'vrrp', 'auth_hmac_key', [ [ '1 hex:' + 'ab'.repeat(32) ] ], { version: '2', auth_pass: 'secret' } ],
	[ 'vrrp', 'auth_hmac_active_key', [ '1', '2', '0', 'x' ], { auth_hmac_key: [ '1 hex:' + 'ab'.repeat(32), '3 hex:' + 'cd'.repeat(32) ] } ],
	[ 'vrrp', 'auth_hmac_active_key', [ '9' ], { auth_hmac_key: [ '9 hex:' + 'ab'.repeat(32) ] } ],
	[ 'vrrp', 'auth_hmac_mode', [ 'enforce', 'permissive', 'receive-only', 'strict' ], { auth_hmac_key: [ '1 hex:' + 'ab'.repeat(32) ] } ],
	[ 'vrrp', 'auth_hmac_anti_replay', [ 'time', 'monotonic', 'counter' ], { auth_hmac_key: [ '1 hex:' + 'ab'.repeat(32) ] } ],
	[ 'vrrp', 'auth_hmac_window', [ '5', '1s', '5m', '301s', '0', '1.5s', '2500ms', '3000ms' ], { auth_hmac_key: [ '1 hex:' + 'ab'.repeat(32) ] } ],
	[ 'vrrp', 'accept', [ '1', 'nope' ] ],
	[ 'vrrp', 'use_vmac', [ '0', 'true' ] ],
	[ 'vrrp', 'use_ipvlan', [ '1', 'maybe' ] ],
	[ 'vrrp', 'ipvlan_mode', [ 'bridge', 'private', 'vepa', 'l3' ] ],
	[ 'vrrp', 'ipvlan_address', [ '10.0.0.12/24', '10.0.0.12', '2001:db8::12/64', '10.0.0.7/24', '10.0.0.12/33', 'x' ] ],
	[ 'vrrp', 'garp_repeat', [ '1', '255', '0', '256' ] ],
	[ 'vrrp', 'notify_master', [ '/etc/keeplite/master.sh', '  ' ] ],
	[ 'script', 'command', [ 'pidof nginx', ' ' ] ],
	[ 'script', 'interval', [ '2s', '0', '500ms', '31d' ] ],
	[ 'script', 'timeout', [ '1s', '500ms', '2s', '0' ], { interval: '1s' } ],
	[ 'script', 'weight', [ '-253', '253', '254', '-60' ] ],
	[ 'script', 'rise', [ '1', '1000', '0', '1001' ] ],
	[ 'script', 'fall', [ '3', '0' ] ],
	[ 'script', 'user', [ 'nobody', 'no body' ] ],
	[ 'virtual_server', 'address', [ '10.0.0.8', '2001:db8::8', 'web.example.org' ] ],
	[ 'virtual_server', 'port', [ [ '80' ], [ '80', '443' ], [ '1812-1814' ], [ '0' ], [ '65536' ], [ '90-80' ], [ 'http' ] ] ],
	[ 'virtual_server', 'port', [ [ '0' ], [ '0', '80' ], [ '00' ] ], { persistence_timeout: '300' } ],
	[ 'virtual_server', 'fwmark', [ '7', '0', '4294967295', '4294967296', 'x' ], { address: null, port: null } ],
	[ 'virtual_server', 'family', [ 'ipv4', 'ipv6', 'inet' ], { address: null, port: null, fwmark: '7' } ],
	[ 'virtual_server', 'inhibit_on_failure', [ '1', 'x' ] ],
	[ 'virtual_server', 'protocol', [ 'tcp', 'udp', 'sctp', 'icmp' ] ],
	[ 'virtual_server', 'scheduler', [ 'wlc', 'rr', 'mh', 'twos', 'fifo' ] ],
	[ 'virtual_server', 'forward', [ 'nat', 'dr', 'tun', 'masq' ] ],
	[ 'virtual_server', 'persistence_timeout', [ '300', '300s', '1500ms', '0', '31d', '5m' ] ],
	[ 'virtual_server', 'sorry_server', [ '10.0.0.99:80', '10.0.0.99', '[2001:db8::9]:80', '10.0.0.99:0', 'host:80' ], { address: '10.0.0.7' } ],
	[ 'virtual_server', 'sorry_server', [ '[2001:db8::9]:80' ], { address: '10.0.0.7', forward: 'tun' } ],
	[ 'virtual_server', 'quorum', [ '1', '3', '0' ] ],
	[ 'virtual_server', 'hysteresis', [ '0', '1', '2' ], { quorum: '2' } ],
	[ 'virtual_server', 'hysteresis', [ '0', '1' ] ],
	[ 'virtual_server', 'delay_loop', [ '10s', '0' ] ],
	[ 'virtual_server', 'alpha', [ '1', '2' ] ],
	[ 'virtual_server', 'ops', [ '1', '0' ] ],
	[ 'virtual_server', 'ops', [ '1' ], { protocol: 'udp' } ],
	[ 'virtual_server', 'host', [ 'www.example.org', 'bad host' ] ],
	[ 'real_server', 'address', [ '10.0.0.1', '2001:db8::1', 'backend' ], { vsFamilies: [ 'ipv4' ] } ],
	[ 'real_server', 'port', [ '8080', '0', '70000' ] ],
	[ 'real_server', 'weight', [ '0', '65535', '65536', '-1' ] ],
	[ 'real_server', 'inhibit_on_failure', [ '1', '0', 'x' ] ],
	[ 'check', 'type', [ 'tcp', 'http', 'smtp', 'ping', 'bfdd' ] ],
	[ 'check', 'min_rx', [ '100ms', '1ms', '10s', '0', '11s', 'x' ], { type: 'bfd', connect_ip: '10.0.0.1' } ],
	[ 'check', 'min_tx', [ '50ms', '0.5ms' ], { type: 'bfd', connect_ip: '10.0.0.1' } ],
	[ 'check', 'multiplier', [ '3', '1', '255', '0', '256' ], { type: 'bfd', connect_ip: '10.0.0.1' } ],
	[ 'check', 'connect_ip', [ '10.0.0.5', 'x' ] ],
	[ 'check', 'connect_port', [ '81', '0' ] ],
	[ 'check', 'interval', [ '10s', '0' ] ],
	[ 'check', 'timeout', [ '1s', '2s', '3s' ], { interval: '2s' } ],
	[ 'check', 'timeout', [ '10s', '0' ] ],
	[ 'check', 'rise', [ '2', '0' ] ],
	[ 'check', 'fall', [ '1000', '1001' ] ],
	[ 'check', 'retry_delay', [ '3s', '0' ] ],
	[ 'check', 'path', [ '/', '/health?x=1', 'health', '/a b' ], { type: 'http' } ],
	[ 'check', 'expect_status', [ [ '200' ], [ '200-299' ], [ '99' ], [ '600' ], [ '300-200' ] ], { type: 'http' } ],
	[ 'check', 'host', [ 'www.example.org', 'bad host' ], { type: 'http' } ],
	[ 'check', 'sni', [ 'www.example.org', '-bad' ], { type: 'https' } ],
	[ 'check', 'ca_file', [ '/etc/ssl/ca.pem', 'ca.pem' ], { type: 'https' } ],
	[ 'check', 'helo_name', [ 'router.example.org', 'bad name' ], { type: 'smtp' } ],
	[ 'check', 'command', [ 'true', ' ' ], { type: 'script' } ],
	[ 'check', 'dynamic', [ '1', 'x' ], { type: 'script', command: 'true' } ],
	[ 'check', 'process', [ 'nginx', 'x'.repeat(15), 'x'.repeat(16), 'é'.repeat(8) ], { type: 'process' } ],
	[ 'check', 'process', [ '/usr/sbin/a-daemon-with-a-long-name' ], { type: 'process', full_command: '1' } ],
	[ 'route', 'destination', [ '192.0.2.0/24', '2001:db8::/32', '192.0.2.0', '192.0.2./24', '192.0.2.0/33', 'x' ], { dev: 'eth0' } ],
	[ 'route', 'dev', [ 'eth0', 'br-lan', 'x'.repeat(16), 'a/b' ] ],
	[ 'route', 'table', [ '1', '100', '4294967295', '0', '4294967296', 'main' ] ],
	[ 'route', 'metric', [ '0', '10', '4294967295', '-1', 'x' ] ],
	[ 'rule', 'from', [ '192.0.2.0/24', '192.0.2./24', 'x' ] ],
	[ 'rule', 'to', [ '198.51.100.0/24', '198.51.100.0/40', '' ] ],
	[ 'rule', 'table', [ '1', '100', '0', 'x' ] ],
	[ 'rule', 'priority', [ '0', '32000', '4294967295', '-1', 'x' ] ]
];

t('the base files are valid', () => {
	for (const type of [ 'global', 'vrrp', 'script', 'virtual_server', 'real_server', 'check', 'route', 'rule' ]) {
		const r = daemonAccepts(file(type, {}));
		assert.ok(r.valid, type + ': ' + JSON.stringify(r.errors));
	}
});

t('every option check of the page is sampled here', () => {
	const sampled = new Set(SAMPLES.map(s => s[0] + '.' + s[1]));
	const missing = [];
	for (const type of Object.keys(model.OPTIONS))
		for (const o of Object.keys(model.OPTIONS[type]))
			if (!sampled.has(type + '.' + o) && type !== 'sync_group' && !(type === 'real_server' && [ 'virtual_server', 'check' ].includes(o))
				&& !(type === 'vrrp' && [ 'track_script', 'notify_backup', 'notify_fault' ].includes(o))
				&& !(type === 'check' && o === 'verify'))
				missing.push(type + '.' + o);
	assert.deepStrictEqual(missing, []);
});

t('the page accepts exactly what keeplite check-config accepts', () => {
	const differ = [];
	let n = 0;
	for (const [ type, option, values, ctx ] of SAMPLES) {
		for (const value of values) {
			const opts = Object.assign({}, ctx || {});
			delete opts.vsFamilies;
			opts[option] = value;
			const items = Array.isArray(value) ? value : [ value ];
			/* As the page's context(): the section's values, this option's among them. */
			const fullCtx = Object.assign({}, ctx || {}, { [option]: value },
				{ vip: (option === 'vip') ? items : [ '10.0.0.7/24' ] });
			const page = items.every(v => model.validateOption(type, option, v, fullCtx) === true);
			/* An empty value means "not set" on the page: the daemon never sees it. */
			if (items.length === 1 && items[0] === '')
				continue;
			const d = daemonAccepts(file(type, opts));
			n++;
			if (page !== d.valid)
				differ.push(type + '.' + option + '=' + JSON.stringify(value) + (ctx ? ' ' + JSON.stringify(ctx) : '') +
					': page ' + (page ? 'accepts' : 'refuses') + ', keeplite ' + (d.valid ? 'accepts' : 'refuses: ' + JSON.stringify(d.errors)));
		}
	}
	assert.deepStrictEqual(differ, []);
	console.log('  (' + n + ' values compared)');
});

run(__filename);
