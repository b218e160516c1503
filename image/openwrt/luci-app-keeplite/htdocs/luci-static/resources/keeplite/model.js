'use strict';
'require baseclass';

/*
 * keeplite.model: the pure part of luci-app-keeplite. What keeplite's status reply
 * becomes on the page (rows, badges, texts), which buttons a session's ACL allows, and the
 * option checks of /etc/config/keeplite as the daemon applies them (src/config/value.rs and
 * src/config/build/ of keeplite). No DOM, no RPC: the views do those. The same file runs
 * under node for the app's tests (module.exports below), where LuCI's loader is absent.
 */

/* LuCI's translation function where there is one. */
const tr = (typeof _ === 'function') ? _ : (s => s);

/* ---- who may do what --------------------------------------------------------------- */

/* The ubus object keeplite's rpcd plugin registers. */
const OBJECT = 'keeplite';

/* The UCI configuration the settings view edits. */
const CONFIG = 'keeplite';

/*
 * Every ubus method the views call, its parameters in call order and the role of the
 * package's ACL (image/openwrt/keeplite/files/keeplite.acl.json) that grants it.
 */
const METHODS = {
	status:     { params: [],                       role: 'keeplite-read' },
	drain:      { params: [ 'name' ],               role: 'keeplite-ops' },
	undrain:    { params: [ 'name' ],               role: 'keeplite-ops' },
	set_weight: { params: [ 'name', 'weight' ],     role: 'keeplite-ops' },
	yield:      { params: [ 'instance', 'seconds' ], role: 'keeplite-ops' },
	hold:       { params: [ 'instance', 'on' ],     role: 'keeplite-ops' },
	reload:     { params: [],                       role: 'keeplite-ops' }
};

/* Reading and writing /etc/config/keeplite, and the roles that grant them. */
const UCI = {
	read:  { role: 'keeplite-read' },
	write: { role: 'keeplite-admin' }
};

/* The ACL group of this app (root/usr/share/rpcd/acl.d/luci-app-keeplite.json). */
const APP_GROUP = 'luci-app-keeplite';

/* The `session access` questions the views ask: [scope, object, function] each. */
function accessQueries() {
	const q = Object.keys(METHODS).map(m => [ 'ubus', OBJECT, m ]);
	q.push([ 'uci', CONFIG, 'read' ], [ 'uci', CONFIG, 'write' ]);
	return q;
}

/* The key of one answer in the map `permissions` takes. */
function accessKey(scope, object, fn) {
	return scope + '/' + object + '/' + fn;
}

/*
 * What a session may see and do, from its `session access` answers (a map of accessKey ->
 * boolean; a missing answer is no). Nothing is offered that rpcd would refuse.
 */
function permissions(answers) {
	const has = (s, o, f) => answers != null && answers[accessKey(s, o, f)] === true;
	const actions = {};
	Object.keys(METHODS).filter(m => m !== 'status').forEach(m => {
		actions[m] = has('ubus', OBJECT, m);
	});
	return {
		status: has('ubus', OBJECT, 'status'),
		actions: actions,
		anyAction: Object.keys(actions).some(m => actions[m]),
		configRead: has('uci', CONFIG, 'read'),
		configWrite: has('uci', CONFIG, 'write')
	};
}

/* ---- texts ------------------------------------------------------------------------- */

/* Seconds as `keeplite status` prints them: 59s, 1m02s, 1h02m, 1d02h; '-' when unknown. */
function duration(secs) {
	if (typeof secs !== 'number' || !isFinite(secs) || secs < 0)
		return '-';
	const s = Math.floor(secs), pad = n => (n < 10 ? '0' : '') + n;
	if (s < 60)
		return s + 's';
	if (s < 3600)
		return Math.floor(s / 60) + 'm' + pad(s % 60) + 's';
	if (s < 86400)
		return Math.floor(s / 3600) + 'h' + pad(Math.floor(s % 3600 / 60)) + 'm';
	return Math.floor(s / 86400) + 'd' + pad(Math.floor(s % 86400 / 3600)) + 'h';
}

/* A value for a cell: '-' for null, undefined and empty strings. */
function text(v) {
	return (v == null || v === '') ? '-' : String(v);
}

/* Bytes in B, KiB, MiB, GiB. */
function bytes(n) {
	if (typeof n !== 'number' || !isFinite(n))
		return '-';
	const units = [ 'B', 'KiB', 'MiB', 'GiB', 'TiB' ];
	let i = 0, v = n;
	while (v >= 1024 && i < units.length - 1) {
		v /= 1024;
		i++;
	}
	return (i ? v.toFixed(1) : String(v)) + ' ' + units[i];
}

/* address:port, [v6]:port. */
function endpoint(address, port) {
	if (address == null)
		return '-';
	if (port == null)
		return String(address);
	return (String(address).indexOf(':') >= 0 ? '[' + address + ']' : address) + ':' + port;
}

/* ---- badges ------------------------------------------------------------------------ */

/* A badge: its text and the LuCI label class (label success|notice|warning|danger). */
function badge(label, kind) {
	return { label: label, cls: 'label ' + kind };
}

const STATE_KIND = { master: 'success', backup: 'notice', fault: 'danger', init: 'warning' };

function stateBadge(state) {
	const s = (typeof state === 'string') ? state : 'unknown';
	return badge(s.toUpperCase(), STATE_KIND[s] || 'warning');
}

function healthBadge(health, drained) {
	if (drained === true)
		return badge(tr('drained'), 'warning');
	if (health === 'up')
		return badge(tr('up'), 'success');
	if (health === 'down')
		return badge(tr('down'), 'danger');
	return badge(text(health), 'warning');
}

function quorumBadge(quorum) {
	return quorum === 'down' ? badge(tr('quorum down'), 'danger') : badge(tr('quorum up'), 'success');
}

/* ---- the status reply -> rows ------------------------------------------------------ */

function list(v) {
	return Array.isArray(v) ? v : [];
}

function obj(v) {
	return (v != null && typeof v === 'object' && !Array.isArray(v)) ? v : {};
}

/* One VRRP instance as the table shows it. */
function instanceRow(v) {
	v = obj(v);
	const notes = [];
	if (typeof v.fault === 'string')
		notes.push(v.fault);
	if (v.held === true)
		notes.push(tr('held'));
	if (typeof v.yield_left === 'number' && v.yield_left > 0)
		notes.push(tr('yield') + ' ' + duration(v.yield_left));
	const priority = (v.base_priority != null && v.priority !== v.base_priority)
		? text(v.priority) + ' (' + tr('base') + ' ' + text(v.base_priority) + ')'
		: text(v.priority);
	return {
		name: text(v.name),
		interface: text(v.interface),
		vrid: v.vrid,
		version: v.version,
		state: (typeof v.state === 'string') ? v.state : 'unknown',
		stateBadge: stateBadge(v.state),
		notes: notes,
		fault: (typeof v.fault === 'string') ? v.fault : null,
		priority: priority,
		master: text(v.master),
		vips: list(v.vips).map(String),
		since: duration(v.since),
		transitions: text(v.transitions),
		held: v.held === true,
		yieldLeft: (typeof v.yield_left === 'number') ? v.yield_left : 0
	};
}

/* The last check: 'ok (3 ms, 1s ago)', 'connection refused (0 ms, 2s ago)'; '-' without. */
function checkText(c) {
	if (c == null || typeof c !== 'object')
		return '-';
	return text(c.result) + ' (' + text(c.latency_ms) + ' ms, ' + duration(c.age) + ' ' + tr('ago') + ')';
}

/* One real server of one virtual service as the table shows it. */
function realServerRow(r) {
	r = obj(r);
	const k = (r.kernel != null && typeof r.kernel === 'object') ? r.kernel : null;
	return {
		name: text(r.name),
		endpoint: endpoint(r.address, r.port),
		health: (typeof r.health === 'string') ? r.health : 'unknown',
		healthBadge: healthBadge(r.health, r.drained),
		drained: r.drained === true,
		weight: text(r.weight),
		kernelWeight: text(r.kernel_weight),
		check: checkText(r.check),
		checkPassed: (r.check != null && typeof r.check === 'object') ? r.check.passed === true : null,
		active: k ? text(k.active_conns) : '-',
		inactive: k ? text(k.inactive_conns) : '-',
		conns: k ? text(k.conns) : '-',
		bytesIn: k ? bytes(k.in_bytes) : '-',
		bytesOut: k ? bytes(k.out_bytes) : '-'
	};
}

/* One kernel virtual service with its real servers. */
function serviceRow(s) {
	s = obj(s);
	return {
		name: text(s.name),
		service: text(s.service),
		scheduler: text(s.scheduler),
		forward: text(s.forward),
		quorum: text(s.quorum),
		quorumBadge: quorumBadge(s.quorum),
		realServers: list(s.real_servers).map(realServerRow)
	};
}

/*
 * keeplite's `status` reply (as `ubus call keeplite status` relays it) as the page shows
 * it. A reply with ok false, or none at all, gives `error` and no rows.
 */
function statusView(reply) {
	const r = obj(reply);
	if (r.ok !== true) {
		return {
			ok: false,
			error: (typeof r.error === 'string' && r.error !== '') ? r.error
				: tr('no answer from keeplite'),
			instances: [],
			services: [],
			realServers: []
		};
	}
	const services = list(r.virtual_servers).map(serviceRow);
	const names = [];
	services.forEach(s => s.realServers.forEach(rs => {
		if (names.indexOf(rs.name) < 0)
			names.push(rs.name);
	}));
	return {
		ok: true,
		error: null,
		schema: r.schema,
		schemaKnown: r.schema === 1,
		routerId: text(r.router_id),
		version: text(r.version),
		uptime: duration(r.uptime),
		ipvs: text(r.ipvs),
		ipvsAvailable: r.ipvs === 'available',
		probes: text(r.probes),
		instances: list(r.vrrp).map(instanceRow),
		services: services,
		realServers: names
	};
}

/* ---- actions ----------------------------------------------------------------------- */

/*
 * The buttons of a real server row for a session with `perms` (from `permissions`): each
 * { action, method, label }. drain and undrain toggle; set_weight is always offered.
 */
function realServerActions(row, perms) {
	const a = obj(obj(perms).actions), out = [];
	if (row.drained ? a.undrain : a.drain)
		out.push(row.drained
			? { action: 'undrain', method: 'undrain', label: tr('Undrain') }
			: { action: 'drain', method: 'drain', label: tr('Drain') });
	if (a.set_weight)
		out.push({ action: 'set_weight', method: 'set_weight', label: tr('Set weight…') });
	return out;
}

/*
 * The buttons of a VRRP instance row: yield for a while (or end the yield that runs), hold
 * in BACKUP (or release). A FAULT instance has nothing to give up, but may be held.
 */
function instanceActions(row, perms) {
	const a = obj(obj(perms).actions), out = [];
	if (a.yield) {
		if (row.yieldLeft > 0)
			out.push({ action: 'unyield', method: 'yield', label: tr('End yield') });
		else if (row.state === 'master' || row.state === 'backup')
			out.push({ action: 'yield', method: 'yield', label: tr('Yield…') });
	}
	if (a.hold)
		out.push(row.held
			? { action: 'release', method: 'hold', label: tr('Release') }
			: { action: 'hold', method: 'hold', label: tr('Hold') });
	return out;
}

/* The ubus parameters of an action on `target` (a section name) with `value`. */
function actionParams(action, target, value) {
	switch (action) {
	case 'drain':
	case 'undrain':
		return { name: target };
	case 'set_weight':
		return { name: target, weight: Number(value) };
	case 'yield':
		return { instance: target, seconds: Number(value) };
	case 'unyield':
		return { instance: target, seconds: 0 };
	case 'hold':
		return { instance: target, on: true };
	case 'release':
		return { instance: target, on: false };
	case 'reload':
		return {};
	}
	return null;
}

/* What the confirmation dialog of an action says: { title, text }. */
function confirmation(action, target, value) {
	switch (action) {
	case 'drain':
		return { title: tr('Drain real server'),
			text: tr('Set the weight of real server %s to 0 in every virtual service it belongs to? Established connections continue; new ones go to the other real servers.').replace('%s', target) };
	case 'undrain':
		return { title: tr('Undrain real server'),
			text: tr('Give real server %s its weight back in every virtual service it belongs to?').replace('%s', target) };
	case 'set_weight':
		return { title: tr('Set weight'),
			text: tr('Set the weight of real server %s to %d until the next reload or restart?').replace('%s', target).replace('%d', String(value)) };
	case 'yield':
		return { title: tr('Yield mastership'),
			text: tr('VRRP instance %s gives up mastership and stays BACKUP for %d seconds; its virtual addresses move to another router. Continue?').replace('%s', target).replace('%d', String(value)) };
	case 'unyield':
		return { title: tr('End yield'),
			text: tr('End the yield of VRRP instance %s now? It may take mastership back at once.').replace('%s', target) };
	case 'hold':
		return { title: tr('Hold in BACKUP'),
			text: tr('VRRP instance %s stays BACKUP until released; if it is master, its virtual addresses move to another router. Continue?').replace('%s', target) };
	case 'release':
		return { title: tr('Release hold'),
			text: tr('Release VRRP instance %s? It may take mastership back at once.').replace('%s', target) };
	case 'reload':
		return { title: tr('Reload configuration'),
			text: tr('Read /etc/config/keeplite again and apply what changed? An invalid file is refused and the running configuration stays.') };
	}
	return { title: action, text: action };
}

/* keeplite's reply to a write method: null when done, else the reason in words. */
function replyError(reply) {
	const r = obj(reply);
	if (r.ok === true)
		return null;
	return (typeof r.error === 'string' && r.error !== '') ? r.error : tr('no answer from keeplite');
}

/* ---- option checks, as the daemon applies them -------------------------------------- */
/* Each returns true, or the reason as keeplite says it ("... (expected ...)"). */

function bad(what, expected) {
	return what + ' (' + tr('expected') + ' ' + expected + ')';
}

const DURATION_EXPECTED = 'a duration such as 500ms, 2s or 1m; a bare number is seconds';
const MAX_MILLIS = 30 * 24 * 3600000;

/* A duration in milliseconds, or { error }: value::duration. */
function parseDuration(v) {
	v = String(v);
	let split = 0;
	while (split < v.length && /[0-9.]/.test(v[split]))
		split++;
	const number = v.substring(0, split), unit = v.substring(split);
	const per = { 'ms': 1, '': 1000, 's': 1000, 'm': 60000, 'h': 3600000 }[unit];
	if (per === undefined) {
		if (number === '')
			return { error: bad("'" + v + "' is not a duration", DURATION_EXPECTED) };
		return { error: bad("'" + v + "' has an unknown unit '" + unit + "'", DURATION_EXPECTED) };
	}
	const dot = number.indexOf('.');
	const whole = dot < 0 ? number : number.substring(0, dot);
	const frac = dot < 0 ? '' : number.substring(dot + 1);
	if ((whole === '' && frac === '') || !/^[0-9]*$/.test(frac))
		return { error: bad("'" + v + "' is not a duration", DURATION_EXPECTED) };
	let micro = 0;
	for (let i = 0; i < frac.length; i++) {
		const d = frac.charCodeAt(i) - 48;
		if (i < 6)
			micro += d * Math.pow(10, 5 - i);
		else if (d !== 0)
			return { error: bad("'" + v + "' is finer than a millisecond", DURATION_EXPECTED) };
	}
	const fracMicroMs = micro * per;
	if (fracMicroMs % 1000000 !== 0)
		return { error: bad("'" + v + "' is finer than a millisecond", DURATION_EXPECTED) };
	/* Whole numbers too long for a u64 are too long anyway. */
	if (whole.length > 15)
		return { error: bad("'" + v + "' is too long", 'at most 30 days') };
	const ms = (whole === '' ? 0 : parseInt(whole, 10)) * per + fracMicroMs / 1000000;
	if (ms > MAX_MILLIS)
		return { error: bad("'" + v + "' is too long", 'at most 30 days') };
	return { ms: ms };
}

function formatMs(ms) {
	return (ms % 1000 === 0) ? (ms / 1000) + 's' : ms + 'ms';
}

function positive(v) {
	const d = parseDuration(v);
	if (d.error)
		return d.error;
	return d.ms === 0 ? bad('duration is zero', 'a duration longer than 0') : true;
}

function durationIn(loMs, hiMs) {
	return v => {
		const d = parseDuration(v);
		if (d.error)
			return d.error;
		if (d.ms < loMs || d.ms > hiMs)
			return bad(v + ' is out of range', formatMs(loMs) + '..' + formatMs(hiMs));
		return true;
	};
}

/* An integer in lo..hi: value::int (Rust's i64 parser takes a leading + or -). */
function int(lo, hi) {
	return v => {
		v = String(v);
		if (!/^[+-]?[0-9]+$/.test(v) || v.replace(/^[+-]?0*/, '').length > 19)
			return bad("'" + v + "' is not a whole number", lo + '..' + hi);
		const n = Number(v);
		if (n < lo || n > hi)
			return bad(v + ' is out of range', lo + '..' + hi);
		return true;
	};
}

/* One of a fixed set of words, any letter case: value::keyword. */
function keyword(words) {
	return v => {
		v = String(v);
		if (words.some(w => w.toLowerCase() === v.toLowerCase()))
			return true;
		return bad("'" + v + "' is not known", words.join(', '));
	};
}

function boolean(v) {
	if (/^(1|0|yes|no|on|off|true|false|enabled|disabled)$/i.test(String(v)))
		return true;
	return bad("'" + v + "' is not a boolean", '1/0, yes/no, on/off or true/false');
}

function isIPv4(v) {
	const p = String(v).split('.');
	return p.length === 4 && p.every(x => /^(0|[1-9][0-9]{0,2})$/.test(x) && Number(x) <= 255);
}

/* An IPv6 address as Rust's std parses it: hex groups, one '::', a dotted IPv4 tail. */
function isIPv6(v) {
	v = String(v);
	if (!/^[0-9a-fA-F:.]+$/.test(v) || v.length > 45)
		return false;
	let groups = v.split('::');
	if (groups.length > 2)
		return false;
	const part = s => (s === '' ? [] : s.split(':'));
	const head = part(groups[0]), tail = groups.length === 2 ? part(groups[1]) : [];
	const all = head.concat(tail);
	let count = 0;
	for (let i = 0; i < all.length; i++) {
		const g = all[i];
		if (i === all.length - 1 && g.indexOf('.') >= 0) {
			if (!isIPv4(g))
				return false;
			count += 2;
		}
		else if (/^[0-9a-fA-F]{1,4}$/.test(g))
			count++;
		else
			return false;
	}
	return groups.length === 2 ? count < 8 : count === 8;
}

function isIP(v) {
	return isIPv4(v) || isIPv6(v);
}

function family(addr) {
	return isIPv4(addr) ? 'ipv4' : 'ipv6';
}

function ip(v) {
	return isIP(v) ? true : bad("'" + v + "' is not an IP address", 'an IPv4 or IPv6 address');
}

/* addr/len, or a bare address: value::prefix. */
function prefix(v) {
	v = String(v);
	const slash = v.indexOf('/');
	const addr = slash < 0 ? v : v.substring(0, slash);
	if (!isIP(addr))
		return bad("'" + v + "' is not an address with prefix length",
			'address/prefix-length, e.g. 10.0.0.7/24 or 2001:db8::7/64');
	if (slash < 0)
		return true;
	const len = v.substring(slash + 1), max = isIPv4(addr) ? 32 : 128;
	/* Rust's u8 parser: digits with an optional '+', at most 255. */
	if (!/^\+?[0-9]+$/.test(len) || Number(len.replace('+', '')) > max)
		return bad("prefix length '" + len + "' is not valid for " + addr, '0..' + max);
	return true;
}

function port(v) {
	return int(1, 65535)(v);
}

/* 10.0.0.9, 10.0.0.9:80, 2001:db8::9, [2001:db8::9]:80: value::endpoint. */
function endpoint_(v) {
	v = String(v);
	const expected = 'address, address:port or [ipv6]:port';
	if (isIP(v))
		return true;
	let host, p;
	if (v[0] === '[') {
		const i = v.indexOf(']:');
		if (i < 0)
			return bad("'" + v + "' is not an endpoint", expected);
		host = v.substring(1, i);
		p = v.substring(i + 2);
	}
	else {
		const i = v.lastIndexOf(':');
		if (i < 0 || v.substring(0, i).indexOf(':') >= 0)
			return bad("'" + v + "' is not an endpoint", expected);
		host = v.substring(0, i);
		p = v.substring(i + 1);
	}
	if (!isIP(host))
		return bad("'" + host + "' is not an IP address", expected);
	return port(p);
}

/* A DNS name or an address: value::is_host. */
function isHost(h) {
	h = String(h);
	if (isIP(h))
		return true;
	return h !== '' && h.length <= 253 && h.split('.').every(l =>
		l !== '' && l.length <= 63 && l[0] !== '-' && /^[A-Za-z0-9-]+$/.test(l));
}

function host(v) {
	return isHost(v) ? true : bad("'" + v + "' is not a host name", 'a DNS name or address');
}

/* host, host:port, [v6], [v6]:port: value::host_port. */
function hostPort(v) {
	v = String(v);
	const expected = 'host, host:port or [ipv6]:port';
	if (isIP(v))
		return true;
	let h, p = null;
	if (v[0] === '[') {
		const i = v.indexOf(']');
		if (i < 0)
			return bad("'" + v + "' is not host[:port]", expected);
		h = v.substring(1, i);
		const rest = v.substring(i + 1);
		if (rest !== '') {
			if (rest[0] !== ':')
				return bad("'" + v + "' is not host[:port]", expected);
			p = rest.substring(1);
		}
	}
	else {
		const i = v.lastIndexOf(':');
		h = i < 0 ? v : v.substring(0, i);
		p = i < 0 ? null : v.substring(i + 1);
	}
	if (!isHost(h))
		return bad("'" + h + "' is not a host name or address", expected);
	return p === null ? true : port(p);
}

/* The address of a vip item: its first word, without the prefix length. */
function vipAddress(v) {
	return String(v).split(/[ \t\n\f\r]+/).filter(w => w !== '')[0].split('/')[0];
}

/* One vip item: addr[/len], then keepalived's words (config::build::vip). `instanceIface`
   is the instance's interface: a label must start with the interface it goes on. */
function vipItem(v, instanceIface) {
	const expected = 'addr/len, then any of: dev NAME, label NAME[:x], scope WORD, brd ADDR|+, peer ADDR, noprefixroute, no_track, nodad';
	const words = String(v).split(/[ \t\n\f\r]+/).filter(w => w !== '');
	const p = prefix(words[0] || '');
	if (p !== true)
		return p;
	const v4 = isIPv4(vipAddress(v));
	let dev = null, label = null, brd = false, peer = null;
	for (let i = 1; i < words.length; i++) {
		const w = words[i];
		if ([ 'no_track', 'noprefixroute', 'nodad', '-nodad' ].includes(w))
			continue;
		if (![ 'dev', 'label', 'scope', 'brd', 'broadcast', 'peer' ].includes(w))
			return bad("'" + w + "' is not a vip option", expected);
		if (i + 1 >= words.length)
			return bad("'" + w + "' needs a value", expected);
		const a = words[++i];
		if (w === 'dev') {
			const r = iface(a);
			if (r !== true)
				return r;
			dev = a;
		}
		else if (w === 'label') {
			if (a.length > 15 || a.indexOf('/') >= 0)
				return bad("'" + a + "' is not a label", '1 to 15 characters, e.g. eth1:1');
			label = a;
		}
		else if (w === 'scope') {
			const n = /^\+?[0-9]+$/.test(a) && Number(a.replace('+', '')) <= 255;
			if (!n && ![ 'global', 'site', 'link', 'host', 'nowhere' ].includes(a.toLowerCase()))
				return bad("'" + a + "' is not known", 'global, site, link, host, nowhere');
		}
		else if (w === 'peer') {
			if (!isIP(a))
				return bad("'" + a + "' is not an IP address", 'an IPv4 or IPv6 address');
			peer = a;
		}
		else {
			if (a !== '+' && !isIPv4(a))
				return bad("broadcast '" + a + "' is not an IPv4 address", expected);
			brd = true;
		}
	}
	if (!v4 && (brd || label !== null))
		return bad(brd ? 'brd is for IPv4 addresses' : 'brd and label are for IPv4 addresses', expected);
	if (peer !== null && isIPv4(peer) !== v4)
		return bad("the peer is not of the address's family", expected);
	if (label !== null) {
		const d = dev !== null ? dev : String(instanceIface || '');
		if (label !== d && !label.startsWith(d + ':'))
			return bad("label '" + label + "' does not start with the interface name '" + d + "'",
				d + ' or ' + d + ':SUFFIX (as `ip address add` requires)');
	}
	return true;
}

/* A process check's name: at most the kernel's 15 bytes unless full_command
   (config::build::kinds::process). */
function processName(v, ctx) {
	v = String(v);
	if (v === '')
		return bad('process name is empty', 'a process name');
	const full = /^(1|yes|on|true|enabled)$/i.test(String(obj(ctx).full_command));
	if (!full && new TextEncoder().encode(v).length > 15)
		return bad("'" + v + "' is longer than the 15 bytes the kernel keeps of a process name",
			'the name as ps -o comm shows it, or full_command with the command\'s first word');
	return true;
}

/* A Linux interface name: value::interface. */
function iface(v) {
	v = String(v);
	if (v === '' || v.length > 15 || v === '.' || v === '..' || /[\/:\s]/.test(v))
		return bad("'" + v + "' is not an interface name", "1 to 15 characters without '/', ':' or spaces");
	return true;
}

/* name or name:weight, weight -253..253: value::weighted_name (+ the name's own check). */
function weightedName(checkName) {
	return v => {
		v = String(v);
		const i = v.lastIndexOf(':');
		const name = i < 0 ? v : v.substring(0, i);
		if (i >= 0) {
			const w = int(-253, 253)(v.substring(i + 1));
			if (w !== true)
				return bad('weight in \'' + v + '\'', 'name or name:weight with weight -253..253');
		}
		return checkName ? checkName(name) : true;
	};
}

function email(v) {
	v = String(v);
	const at = v.indexOf('@');
	if (at > 0 && isHost(v.substring(at + 1)) && !/\s/.test(v))
		return true;
	return bad("'" + v + "' is not an e-mail address", 'user@host');
}

function user(v) {
	v = String(v);
	if (v !== '' && v.length <= 32 && /^[A-Za-z0-9._-]+$/.test(v) && v[0] !== '-')
		return true;
	return bad("'" + v + "' is not a user name", "letters, digits, '.', '_' and '-'");
}

function command(v) {
	return String(v).trim() === '' ? bad('command is empty', 'a command line') : true;
}

function path(v) {
	v = String(v);
	return (v[0] === '/' && v.indexOf('\0') < 0) ? true : bad("'" + v + "' is not an absolute path", 'a path starting with /');
}

function nonEmpty(v) {
	return String(v) === '' ? bad('value is empty', 'some text') : true;
}

/* 443 or 1812-1814: value::port_range. */
function portRange(v) {
	v = String(v);
	const i = v.indexOf('-');
	if (i < 0)
		return port(v);
	const a = v.substring(0, i), b = v.substring(i + 1);
	const pa = port(a), pb = port(b);
	if (pa !== true)
		return pa;
	if (pb !== true)
		return pb;
	return Number(a) <= Number(b) ? true : bad("port range '" + v + "' runs backwards", 'low-high');
}

/* A virtual server's port entry: a port or range, or 0 alone, every port, which the
 * kernel schedules only for a persistent service (config::build::lvs). */
function servicePort(v, ctx) {
	if (String(v) !== '0')
		return portRange(v);
	const c = obj(ctx);
	if ([].concat(c.port == null ? [] : c.port).length > 1)
		return bad('0 (every port) with other ports', '0 alone, or ports 1..65535');
	if (c.persistence_timeout == null || c.persistence_timeout === '')
		return bad('0 (every port) without persistence: the kernel would schedule nothing', 'persistence_timeout to be set');
	return true;
}

/* 200 or 200-299: value::status_range. */
function statusRange(v) {
	v = String(v);
	const i = v.indexOf('-');
	const a = i < 0 ? v : v.substring(0, i), b = i < 0 ? v : v.substring(i + 1);
	const ca = int(100, 599)(a), cb = int(100, 599)(b);
	if (ca !== true)
		return ca;
	if (cb !== true)
		return cb;
	return Number(a) <= Number(b) ? true : bad("status range '" + v + "' runs backwards", 'low-high');
}

function digest(v) {
	return /^[0-9a-fA-F]{32}$/.test(String(v)) ? true : bad("'" + v + "' is not an MD5 digest", '32 hexadecimal digits');
}

/* A request path: starts with / and has no whitespace or control characters. */
function requestPath(v) {
	v = String(v);
	return (v[0] === '/' && !/[\s\u0000-\u001f\u007f]/.test(v)) ? true
		: bad("'" + v + "' is not a request path", 'a path starting with / without spaces');
}

/* Section names: letters, digits and _, at most 64 bytes, not `keeplite`. */
function sectionName(v) {
	v = String(v);
	if (!/^[A-Za-z0-9_]{1,64}$/.test(v))
		return bad("'" + v + "' is not a section name", "letters, digits and '_', at most 64");
	if (v === 'keeplite')
		return bad("'keeplite' is reserved", 'another name');
	return true;
}

const SCHEDULERS = [ 'rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'mh', 'fo', 'ovf', 'twos' ];

/*
 * The checks of the options the settings view offers, by section type: each takes the
 * value and `ctx`, the section's other values as the form holds them (only the ones named
 * in a check are read). Cross-option rules are those of one section; the daemon also
 * checks across sections (names, VRIDs, families) when it loads the file.
 */
/* A routing table: 1..2^32-1, or a name `ip` knows without a file. */
const routeTable = v => [ 'main', 'local', 'default' ].includes(String(v)) ? true : int(1, 4294967295)(v);

const OPTIONS = {
	route: {
		destination: prefix,
		dev: iface,
		table: routeTable,
		metric: int(0, 4294967295)
	},
	rule: {
		from: prefix,
		to: prefix,
		table: routeTable,
		priority: int(0, 4294967295)
	},
	global: {
		router_id: nonEmpty,
		log_level: keyword([ 'error', 'warn', 'info', 'debug' ]),
		alert_email: email,
		smtp_server: hostPort,
		smtp_from: email,
		startup_delay: durationIn(0, 3600000),
		script_user: user
	},
	vrrp: {
		interface: iface,
		vrid: int(1, 255),
		priority: int(1, 255),
		version: keyword([ '2', '3' ]),
		advert_int: (v, ctx) => {
			const d = parseDuration(v);
			if (d.error)
				return d.error;
			const v2 = String(obj(ctx).version) === '2';
			const ok = v2 ? (d.ms % 1000 === 0 && d.ms >= 1000 && d.ms <= 255000)
				: (d.ms % 10 === 0 && d.ms >= 10 && d.ms <= 40950);
			return ok ? true : bad(v + ' is not a valid advert interval for version ' + (v2 ? 2 : 3),
				v2 ? 'whole seconds 1s..255s' : '10ms..40.95s in steps of 10ms');
		},
		vip: (v, ctx) => {
			const p = vipItem(v, obj(ctx).interface);
			if (p !== true)
				return p;
			const first = list(obj(ctx).vip)[0];
			if (String(obj(ctx).version) === '2' && first === v && !isIPv4(vipAddress(v)))
				return bad('VRRP version 2 carries IPv4 only, and the first vip sets the family',
					'an IPv4 first vip, or version 3');
			return true;
		},
		state: keyword([ 'master', 'backup' ]),
		preempt: boolean,
		preempt_delay: durationIn(0, 1000000),
		src_ip: (v, ctx) => sameFamily(v, ctx, 'source address'),
		unicast_peer: (v, ctx) => sameFamily(v, ctx, 'peer'),
		track_interface: weightedName(iface),
		track_script: weightedName(null),
		auth_pass: (v, ctx) => {
			v = String(v);
			if (v.length < 1 || v.length > 8)
				return bad('password is ' + v.length + ' bytes long', '1 to 8 characters');
			if (String(obj(ctx).version) !== '2')
				return bad('authentication was removed in VRRP version 3', 'version 2, or no auth_pass');
			return true;
		},
		auth_hmac_key: (v, ctx) => {
			const w = String(v).trim().split(/\s+/);
			if (w.length !== 2 || w[0] === '')
				return bad((w[0] === '' ? 0 : w.length) + ' words, not an id and a key',
					'ID VALUE: an id 1..255, then hex:HEX, file:/PATH or 32 to 64 characters');
			/* Not int(): its message quotes the word, which may be the key (written first). */
			if (!/^[0-9]+$/.test(w[0]) || Number(w[0]) < 1 || Number(w[0]) > 255)
				return bad('the first word is no key id', 'ID VALUE: an id 1..255, then hex:HEX, file:/PATH or 32 to 64 characters');
			if (obj(ctx).auth_pass)
				return bad('auth_pass is set too', 'one of auth_pass and auth_hmac_key');
			if (w[1].startsWith('file:'))
				return w[1].startsWith('file:/') ? true : bad('key file ' + w[1].slice(5) + ': not an absolute path', "a key file of root's, mode 600");
			let n = new TextEncoder().encode(w[1]).length;
			if (w[1].startsWith('hex:')) {
				if (!/^([0-9a-fA-F]{2})*$/.test(w[1].slice(4)))
					return bad('the key after hex: is not hexadecimal', 'pairs of 0-9a-f');
				n = (w[1].length - 4) / 2;
			}
			if (n < 32 || n > 64)
				return bad('key ' + w[0] + ' is ' + n + ' bytes long', '32 to 64 bytes (openssl rand -hex 32)');
			return true;
		},
		auth_hmac_active_key: (v, ctx) => {
			const i = int(1, 255)(v);
			if (i !== true)
				return i;
			const ids = list(obj(ctx).auth_hmac_key).map(k => Number(String(k).trim().split(/\s+/)[0]));
			if (ids.length && !ids.includes(Number(v)))
				return bad('no auth_hmac_key has id ' + v, 'the id of one of the keys');
			return true;
		},
		auth_hmac_mode: keyword([ 'enforce', 'permissive', 'receive-only' ]),
		auth_hmac_anti_replay: keyword([ 'time', 'monotonic' ]),
		auth_hmac_window: v => {
			const d = durationIn(1000, 300000)(v);
			if (d !== true)
				return d;
			return parseDuration(v).ms % 1000 === 0 ? true : bad(v + ' is not whole seconds', '1s..5m in whole seconds');
		},
		accept: boolean,
		use_vmac: boolean,
		use_ipvlan: boolean,
		ipvlan_mode: keyword([ 'bridge', 'private', 'vepa' ]),
		ipvlan_address: (v, ctx) => {
			const p = prefix(v);
			if (p !== true)
				return p;
			const addr = String(v).split('/')[0];
			const f = sameFamily(addr, ctx, '');
			if (f !== true)
				return bad(addr + " is not in the instance's family", f.expected);
			if (list(obj(ctx).vip).some(x => vipAddress(x) === addr))
				return bad(addr + ' is a vip of the instance too', "an address of the ipvlan's own, held while keeplite runs");
			return true;
		},
		garp_repeat: int(1, 255),
		notify_master: command,
		notify_backup: command,
		notify_fault: command
	},
	sync_group: {
		members: nonEmpty
	},
	script: {
		command: command,
		interval: positive,
		timeout: (v, ctx) => {
			const t = positive(v);
			if (t !== true)
				return t;
			const i = parseDuration(obj(ctx).interval || '1s');
			const d = parseDuration(v);
			if (!i.error && d.ms > i.ms)
				return bad(formatMs(d.ms) + ' is longer than the interval ' + formatMs(i.ms),
					'a timeout no longer than the interval');
			return true;
		},
		weight: int(-253, 253),
		rise: int(1, 1000),
		fall: int(1, 1000),
		user: user
	},
	virtual_server: {
		address: ip,
		fwmark: int(1, 4294967295),
		port: servicePort,
		family: keyword([ 'ipv4', 'ipv6' ]),
		protocol: keyword([ 'tcp', 'udp', 'sctp' ]),
		scheduler: keyword(SCHEDULERS),
		forward: keyword([ 'nat', 'dr', 'tun' ]),
		persistence_timeout: v => {
			const r = durationIn(1000, 30 * 24 * 3600000)(v);
			if (r !== true)
				return r;
			return parseDuration(v).ms % 1000 === 0 ? true
				: bad(v + ' is not whole seconds', 'whole seconds (the kernel counts seconds)');
		},
		sorry_server: (v, ctx) => {
			const e = endpoint_(v);
			if (e !== true)
				return e;
			const addr = obj(ctx).address, host = String(v).replace(/^\[/, '').replace(/\]?:[0-9]+$/, '');
			const h = isIP(host) ? host : String(v);
			if (addr != null && isIP(addr) && String(obj(ctx).forward || 'nat').toLowerCase() !== 'tun' && family(h) !== family(addr))
				return bad(h + " is not in the virtual server's family", "an address of the service's family");
			return true;
		},
		quorum: int(1, 4294967295),
		hysteresis: (v, ctx) => {
			const r = int(0, 4294967295)(v);
			if (r !== true)
				return r;
			const q = obj(ctx).quorum != null && obj(ctx).quorum !== '' ? Number(obj(ctx).quorum) : 1;
			return Number(v) < q ? true : bad(v + ' is not below the quorum ' + q, '0..' + (q - 1));
		},
		delay_loop: positive,
		alpha: boolean,
		inhibit_on_failure: boolean,
		ops: (v, ctx) => {
			const b = boolean(v);
			if (b !== true)
				return b;
			const on = /^(1|yes|on|true|enabled)$/i.test(String(v));
			return (on && String(obj(ctx).protocol || 'tcp').toLowerCase() !== 'udp')
				? bad('one-packet scheduling needs a UDP service', 'protocol udp, or ops 0') : true;
		},
		host: host
	},
	real_server: {
		virtual_server: nonEmpty,
		/* ctx.vsFamilies: the families of its virtual servers that do not tunnel. */
		address: (v, ctx) => {
			const r = ip(v);
			if (r !== true)
				return r;
			const other = list(obj(ctx).vsFamilies).find(f => f !== family(v));
			return other ? bad(v + ' is not in the family of its virtual server',
				'the same family, or forward tun (the kernel tunnels across families)') : true;
		},
		port: port,
		weight: int(0, 65535),
		check: nonEmpty,
		inhibit_on_failure: boolean
	},
	check: {
		type: keyword([ 'tcp', 'http', 'https', 'smtp', 'script', 'udp', 'dns', 'ping', 'file', 'process', 'bfd' ]),
		connect_ip: ip,
		connect_port: port,
		interval: positive,
		timeout: (v, ctx) => {
			const t = positive(v);
			if (t !== true)
				return t;
			const ival = obj(ctx).interval;
			if (ival == null || ival === '')
				return true;
			const i = parseDuration(ival), d = parseDuration(v);
			if (!i.error && d.ms >= i.ms)
				return bad(formatMs(d.ms) + ' is not shorter than the interval ' + formatMs(i.ms),
					'a timeout shorter than the interval');
			return true;
		},
		rise: int(1, 1000),
		fall: int(1, 1000),
		retry_delay: positive,
		path: requestPath,
		expect_status: statusRange,
		host: host,
		sni: host,
		verify: boolean,
		ca_file: path,
		helo_name: host,
		command: command,
		dynamic: boolean,
		process: processName,
		min_rx: durationIn(1, 10000),
		min_tx: durationIn(1, 10000),
		multiplier: int(1, 255)
	}
};

function sameFamily(v, ctx, what) {
	const r = ip(v);
	if (r !== true)
		return r;
	const first = list(obj(ctx).vip)[0];
	if (first == null || vipItem(first, obj(ctx).interface) !== true)
		return true;
	const f = family(vipAddress(first));
	return family(v) === f ? true
		: bad(what + ' ' + v + " is not in the instance's family", 'an ' + f + ' address, like the first vip');
}

/* Checks `value` of option `option` of a `type` section; true when there is no check. */
function validateOption(type, option, value, ctx) {
	const f = obj(OPTIONS[type])[option];
	return (typeof f === 'function') ? f(value, ctx || {}) : true;
}

/* The weight set_weight takes, and the seconds yield takes. */
function validateWeight(v) {
	return int(0, 65535)(v);
}

function validateSeconds(v) {
	return int(0, 86400)(v);
}

const model = {
	OBJECT: OBJECT,
	CONFIG: CONFIG,
	METHODS: METHODS,
	UCI: UCI,
	APP_GROUP: APP_GROUP,
	SCHEDULERS: SCHEDULERS,
	OPTIONS: OPTIONS,
	accessQueries: accessQueries,
	accessKey: accessKey,
	permissions: permissions,
	duration: duration,
	bytes: bytes,
	endpoint: endpoint,
	stateBadge: stateBadge,
	healthBadge: healthBadge,
	quorumBadge: quorumBadge,
	statusView: statusView,
	realServerActions: realServerActions,
	instanceActions: instanceActions,
	actionParams: actionParams,
	confirmation: confirmation,
	replyError: replyError,
	parseDuration: parseDuration,
	validateOption: validateOption,
	validateWeight: validateWeight,
	validateSeconds: validateSeconds,
	sectionName: sectionName,
	isIP: isIP
};

/* node (the app's tests): the plain object; LuCI: a class its loader instantiates. */
if (typeof module === 'object' && module !== null && module.exports)
	module.exports = model;

return (typeof baseclass !== 'undefined') ? baseclass.extend(model) : model;
