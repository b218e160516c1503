'use strict';
'require view';
'require form';
'require uci';
'require ui';
'require keeplite.model as model';

/*
 * Services > keeplite: the common options of /etc/config/keeplite, checked as keeplite
 * checks them (keeplite.model). Options this page does not show stay in the file as they
 * are. Save & Apply commits the file; procd's reload trigger makes keeplite read it again,
 * and a file keeplite refuses leaves the running configuration in place (the reason is in
 * the system log). Read-only for a login without `uci` write on keeplite (role
 * keeplite-admin, which is root-equivalent: notify and check commands run as root).
 */

/* Options that must be set (the daemon's required ones). */
const REQUIRED = {
	vrrp: [ 'interface', 'vrid', 'vip' ],
	script: [ 'command' ],
	real_server: [ 'virtual_server', 'address' ],
	check: [ 'type' ]
};

/* Options that must be set when others say so: ctx -> true when required. */
const REQUIRED_WHEN = {
	'virtual_server.address': ctx => ctx.fwmark == null || ctx.fwmark === '',
	'check.command': ctx => ctx.type === 'script'
};

/* The other values of a section that option checks read, as the form holds them now. */
const CONTEXT = [ 'version', 'vip', 'interval', 'quorum', 'protocol', 'type', 'fwmark', 'address', 'forward', 'virtual_server',
	'port', 'persistence_timeout' ];

function context(section, section_id) {
	const ctx = {};
	CONTEXT.forEach(k => {
		let v = null;
		try {
			v = section.formvalue(section_id, k);
		}
		catch (e) {
			v = null;
		}
		ctx[k] = (v != null) ? v : uci.get(model.CONFIG, section_id, k);
	});
	/* A real server's address must be of its virtual servers' family (unless they tunnel). */
	ctx.vsFamilies = [];
	(Array.isArray(ctx.virtual_server) ? ctx.virtual_server : []).forEach(vs => {
		const addr = uci.get(model.CONFIG, vs, 'address');
		const fwd = String(uci.get(model.CONFIG, vs, 'forward') || 'nat').toLowerCase();
		if (addr && model.isIP(addr) && fwd !== 'tun')
			ctx.vsFamilies.push(addr.indexOf(':') >= 0 ? 'ipv6' : 'ipv4');
	});
	return ctx;
}

/* The option's validate function: keeplite's check of `type`.`name`. */
function checked(o, type, name) {
	const required = (REQUIRED[type] || []).indexOf(name) >= 0;
	const when = REQUIRED_WHEN[type + '.' + name];
	o.validate = function(section_id, value) {
		if (value == null || value === '' || (Array.isArray(value) && !value.length)) {
			if (required)
				return _('keeplite requires this option');
			if (when && when(context(this.section, section_id)))
				return (name === 'address') ? _('A virtual server needs an address (with ports) or a firewall mark')
					: _('keeplite requires this option here');
			return true;
		}
		if (Array.isArray(value)) {
			for (let i = 0; i < value.length; i++) {
				const r = model.validateOption(type, name, value[i], context(this.section, section_id));
				if (r !== true)
					return r;
			}
			return true;
		}
		return model.validateOption(type, name, value, context(this.section, section_id));
	};
	if (required)
		o.rmempty = false;
	return o;
}

/*
 * A reference to a section of `type`: its name or `@type[N]`, and for tracking scripts
 * `name:weight`. Free text with the sections as suggestions, so that references this page
 * does not know (anonymous sections' `@type[N]`) survive a save.
 */
function reference(o, type, weighted, required) {
	const names = uci.sections(model.CONFIG, type).map(s => s['.name']);
	names.forEach(n => o.value(n));
	if (required)
		o.rmempty = false;
	o.validate = function(section_id, value) {
		const items = Array.isArray(value) ? value : (value ? [ value ] : []);
		if (required && !items.length)
			return _('keeplite requires this option');
		for (let i = 0; i < items.length; i++) {
			const v = String(items[i]);
			const name = weighted ? v.replace(/:[+-]?[0-9]+$/, '') : v;
			if (weighted && v !== name) {
				const w = model.validateOption('vrrp', 'track_script', v, {});
				if (w !== true)
					return w;
			}
			if (names.indexOf(name) < 0 && !new RegExp('^@' + type + '\\[[0-9]+\\]$').test(name))
				return _('There is no %s section called \'%s\'').format(type, name);
		}
		return true;
	};
	return o;
}

function gridSection(m, type, title, description) {
	const s = m.section(form.GridSection, type, title, description);
	s.anonymous = false;
	s.addremove = true;
	s.nodescriptions = true;
	/* keeplite refers to sections by name: letters, digits and _, not `keeplite`. */
	const add = s.handleAdd;
	s.handleAdd = function(ev, name) {
		const ok = model.sectionName(name);
		if (ok !== true) {
			ui.addNotification(null, E('p', [ ok ]), 'warning');
			return Promise.resolve();
		}
		return add.apply(this, [ ev, name ]);
	};
	return s;
}

return view.extend({
	load() {
		return uci.load(model.CONFIG);
	},

	render() {
		const m = new form.Map(model.CONFIG, _('keeplite'),
			_('VRRP instances, IPVS virtual servers and health checks (/etc/config/keeplite). Save & Apply makes keeplite read the file again; a file it refuses leaves the running configuration in place, with the reason in the system log.'));
		let s, o;

		/* global */
		s = m.section(form.TypedSection, 'global', _('Global settings'));
		s.anonymous = true;
		s.addremove = true;
		const addGlobal = s.renderSectionAdd;
		s.renderSectionAdd = function() {
			/* One global section; a second would be refused. */
			return this.cfgsections().length ? E([]) : addGlobal.apply(this, arguments);
		};
		checked(s.option(form.Value, 'router_id', _('Router ID'), _('Names this router in alerts; the host name when empty.')), 'global', 'router_id');
		o = checked(s.option(form.ListValue, 'log_level', _('Log level')), 'global', 'log_level');
		o.value('', _('default (info)'));
		[ 'error', 'warn', 'info', 'debug' ].forEach(l => o.value(l));
		checked(s.option(form.DynamicList, 'alert_email', _('Alert e-mail'), _('Addresses that get a mail on state changes.')), 'global', 'alert_email');
		o = checked(s.option(form.Value, 'smtp_server', _('SMTP server'), _('host[:port], port 25 by default.')), 'global', 'smtp_server');
		o.placeholder = 'smtp.example.org:25';
		checked(s.option(form.Value, 'smtp_from', _('Mail sender')), 'global', 'smtp_from');
		o = checked(s.option(form.Value, 'startup_delay', _('Startup delay'), _('Wait before taking part in VRRP, up to 1h (e.g. 30s).')), 'global', 'startup_delay');
		o.placeholder = '0s';

		/* vrrp */
		s = gridSection(m, 'vrrp', _('VRRP instances'), _('One virtual router per instance: its addresses move to the router with the highest priority.'));
		s.tab('general', _('General'));
		s.tab('advanced', _('Advanced'));
		s.tab('notify', _('Notification'));
		o = checked(s.taboption('general', form.Value, 'interface', _('Interface'), _('A Linux interface name, e.g. br-lan.')), 'vrrp', 'interface');
		o.placeholder = 'br-lan';
		o = checked(s.taboption('general', form.Value, 'vrid', _('VRID'), _('Virtual router id, 1-255, the same on every router of the instance.')), 'vrrp', 'vrid');
		o = checked(s.taboption('general', form.Value, 'priority', _('Priority'), _('1-255; 255 owns the addresses.')), 'vrrp', 'priority');
		o.placeholder = '100';
		o = checked(s.taboption('general', form.DynamicList, 'vip', _('Virtual addresses'), _('address/length; the first sets the family.')), 'vrrp', 'vip');
		o = checked(s.taboption('general', form.ListValue, 'version', _('VRRP version')), 'vrrp', 'version');
		o.value('', _('default (3)'));
		o.value('2');
		o.value('3');
		o.modalonly = true;
		o = checked(s.taboption('general', form.Value, 'advert_int', _('Advert interval'), _('Version 2: whole seconds 1s-255s; version 3: 10ms-40.95s.')), 'vrrp', 'advert_int');
		o.placeholder = '1s';
		o.modalonly = true;
		o = checked(s.taboption('general', form.ListValue, 'state', _('Initial state')), 'vrrp', 'state');
		o.value('', _('default (backup)'));
		o.value('master');
		o.value('backup');
		o.modalonly = true;
		o = checked(s.taboption('advanced', form.Flag, 'preempt', _('Preempt'), _('Take mastership from a lower priority router.')), 'vrrp', 'preempt');
		o.default = o.enabled;
		o.modalonly = true;
		o = checked(s.taboption('advanced', form.Value, 'preempt_delay', _('Preempt delay'), _('0s-1000s.')), 'vrrp', 'preempt_delay');
		o.depends('preempt', '1');
		o.modalonly = true;
		o = checked(s.taboption('advanced', form.Value, 'src_ip', _('Source address'), _('Of the adverts; the interface\'s own by default.')), 'vrrp', 'src_ip');
		o.modalonly = true;
		o = checked(s.taboption('advanced', form.DynamicList, 'unicast_peer', _('Unicast peers'), _('Send adverts to these addresses instead of multicast.')), 'vrrp', 'unicast_peer');
		o.modalonly = true;
		o = checked(s.taboption('advanced', form.DynamicList, 'track_interface', _('Track interfaces'), _('name, or name:weight (-253..253).')), 'vrrp', 'track_interface');
		o.modalonly = true;
		o = reference(s.taboption('advanced', form.DynamicList, 'track_script', _('Track scripts'), _('script section, or script:weight.')), 'script', true, false);
		o.modalonly = true;
		o = checked(s.taboption('advanced', form.Value, 'auth_pass', _('Password'), _('VRRP version 2 only, 1-8 characters.')), 'vrrp', 'auth_pass');
		o.password = true;
		o.modalonly = true;
		o = checked(s.taboption('advanced', form.DynamicList, 'auth_hmac_key', _('HMAC keys'), _('Signed adverts (keepalived\'s auth_hmac): "id hex:..." (32-64 bytes, openssl rand -hex 32), "id file:/path" or "id text"; the same keys on every router. Not with Password.')), 'vrrp', 'auth_hmac_key');
		o.password = true;
		o.modalonly = true;
		o = checked(s.taboption('advanced', form.Value, 'auth_hmac_active_key', _('Signing key'), _('The id adverts are signed with; needed with several keys.')), 'vrrp', 'auth_hmac_active_key');
		o.modalonly = true;
		o = checked(s.taboption('advanced', form.ListValue, 'auth_hmac_mode', _('HMAC mode'), _('enforce: drop unsigned adverts; permissive: sign, still take unsigned ones (a migration); receive-only: sign nothing.')), 'vrrp', 'auth_hmac_mode');
		[ 'enforce', 'permissive', 'receive-only' ].forEach(m => o.value(m));
		o.modalonly = true;
		o = checked(s.taboption('advanced', form.ListValue, 'auth_hmac_anti_replay', _('HMAC replay check'), _('time: clocks within the window (NTP); monotonic: no clock needed.')), 'vrrp', 'auth_hmac_anti_replay');
		[ 'time', 'monotonic' ].forEach(m => o.value(m));
		o.modalonly = true;
		o = checked(s.taboption('advanced', form.Value, 'auth_hmac_window', _('HMAC window'), _('How far apart the clocks may be, 1s-5m; 3 adverts, at least 5s, by default.')), 'vrrp', 'auth_hmac_window');
		o.modalonly = true;
		o = checked(s.taboption('advanced', form.Flag, 'accept', _('Accept mode'), _('Version 3: accept packets to the virtual addresses when master.')), 'vrrp', 'accept');
		o.default = o.enabled;
		o.modalonly = true;
		o = checked(s.taboption('advanced', form.Flag, 'use_vmac', _('Virtual MAC'), _('Send from a macvlan with the VRRP MAC (needs kmod-macvlan).')), 'vrrp', 'use_vmac');
		o.modalonly = true;
		o = checked(s.taboption('advanced', form.Flag, 'use_ipvlan', _('IPvlan'), _('Hold the addresses on an ipvlan with this interface\'s MAC, where one MAC per port is allowed (needs kmod-ipvlan). Not with Virtual MAC.')), 'vrrp', 'use_ipvlan');
		o.modalonly = true;
		o = checked(s.taboption('advanced', form.ListValue, 'ipvlan_mode', _('IPvlan mode')), 'vrrp', 'ipvlan_mode');
		[ 'bridge', 'private', 'vepa' ].forEach(m => o.value(m));
		o.depends('use_ipvlan', '1');
		o.modalonly = true;
		o = checked(s.taboption('advanced', form.Value, 'ipvlan_address', _('IPvlan address'), _('Address/length of the ipvlan\'s own, not a virtual address; the IPv4 advert source.')), 'vrrp', 'ipvlan_address');
		o.depends('use_ipvlan', '1');
		o.modalonly = true;
		o = checked(s.taboption('advanced', form.Value, 'garp_repeat', _('Gratuitous ARPs'), _('Sent on becoming master, 1-255.')), 'vrrp', 'garp_repeat');
		o.placeholder = '5';
		o.modalonly = true;
		[ [ 'notify_master', _('On MASTER') ], [ 'notify_backup', _('On BACKUP') ], [ 'notify_fault', _('On FAULT') ] ].forEach(n => {
			o = checked(s.taboption('notify', form.Value, n[0], n[1], _('Command run as root by /bin/sh -c.')), 'vrrp', n[0]);
			o.modalonly = true;
		});

		/* sync_group */
		s = gridSection(m, 'sync_group', _('Sync groups'), _('Instances that change state together.'));
		reference(s.option(form.DynamicList, 'members', _('Members')), 'vrrp', false, true);

		/* route, rule: held by the master of `instance` (always without one) */
		s = gridSection(m, 'route', _('Routes'), _('Held while the instance is master; always without an instance. keeplite marks them with protocol 75 and touches no others.'));
		reference(s.option(form.Value, 'instance', _('Instance')), 'vrrp', false, false);
		checked(s.option(form.Value, 'destination', _('Destination'), _('address/length, e.g. 192.0.2.0/24.')), 'route', 'destination');
		checked(s.option(form.Value, 'dev', _('Interface')), 'route', 'dev');
		checked(s.option(form.Value, 'table', _('Table')), 'route', 'table');
		checked(s.option(form.Value, 'metric', _('Metric')), 'route', 'metric');
		s = gridSection(m, 'rule', _('Rules'), _('Policy routing rules (lookup a table), held as routes are.'));
		reference(s.option(form.Value, 'instance', _('Instance')), 'vrrp', false, false);
		checked(s.option(form.Value, 'from', _('From')), 'rule', 'from');
		checked(s.option(form.Value, 'to', _('To')), 'rule', 'to');
		checked(s.option(form.Value, 'table', _('Table')), 'rule', 'table');
		checked(s.option(form.Value, 'priority', _('Priority')), 'rule', 'priority');

		/* script */
		s = gridSection(m, 'script', _('Tracking scripts'), _('Commands whose exit code moves a tracking instance\'s priority (weight) or puts it in FAULT (no weight).'));
		checked(s.option(form.Value, 'command', _('Command')), 'script', 'command');
		o = checked(s.option(form.Value, 'interval', _('Interval')), 'script', 'interval');
		o.placeholder = '1s';
		o = checked(s.option(form.Value, 'timeout', _('Timeout'), _('At most the interval.')), 'script', 'timeout');
		o.modalonly = true;
		o = checked(s.option(form.Value, 'weight', _('Weight'), _('-253..253; 0 puts the instance in FAULT while failing.')), 'script', 'weight');
		o.placeholder = '0';
		o = checked(s.option(form.Value, 'rise', _('Rise'), _('Successes before up, 1-1000.')), 'script', 'rise');
		o.modalonly = true;
		o = checked(s.option(form.Value, 'fall', _('Fall'), _('Failures before down, 1-1000.')), 'script', 'fall');
		o.modalonly = true;
		o = checked(s.option(form.Value, 'user', _('User')), 'script', 'user');
		o.modalonly = true;

		/* virtual_server */
		s = gridSection(m, 'virtual_server', _('Virtual servers'), _('IPVS services: an address with ports, or a firewall mark.'));
		o = checked(s.option(form.Value, 'address', _('Address'), _('The virtual address; leave empty for a fwmark service.')), 'virtual_server', 'address');
		o = checked(s.option(form.DynamicList, 'port', _('Ports'), _('443 or a range 1812-1814; 0 alone is every port (needs persistence).')), 'virtual_server', 'port');
		o.depends({ address: /./ });
		o = checked(s.option(form.ListValue, 'protocol', _('Protocol')), 'virtual_server', 'protocol');
		o.value('', _('default (tcp)'));
		[ 'tcp', 'udp', 'sctp' ].forEach(p => o.value(p));
		o.depends({ address: /./ });
		o = checked(s.option(form.Value, 'fwmark', _('Firewall mark'), _('Instead of an address and ports.')), 'virtual_server', 'fwmark');
		o.depends({ address: '' });
		o.modalonly = true;
		o = checked(s.option(form.ListValue, 'family', _('Family')), 'virtual_server', 'family');
		o.value('', _('default (ipv4)'));
		o.value('ipv4');
		o.value('ipv6');
		o.depends({ address: '' });
		o.modalonly = true;
		o = checked(s.option(form.ListValue, 'scheduler', _('Scheduler')), 'virtual_server', 'scheduler');
		o.value('', _('default (wlc)'));
		model.SCHEDULERS.forEach(x => o.value(x));
		o = checked(s.option(form.ListValue, 'forward', _('Forwarding')), 'virtual_server', 'forward');
		o.value('', _('default (nat)'));
		[ 'nat', 'dr', 'tun' ].forEach(x => o.value(x));
		o = checked(s.option(form.Value, 'persistence_timeout', _('Persistence'), _('Whole seconds a client sticks to its real server.')), 'virtual_server', 'persistence_timeout');
		o.modalonly = true;
		o = checked(s.option(form.Value, 'sorry_server', _('Sorry server'), _('address:port that serves while the quorum is down.')), 'virtual_server', 'sorry_server');
		o.modalonly = true;
		o = checked(s.option(form.Value, 'quorum', _('Quorum'), _('Real servers that must be up.')), 'virtual_server', 'quorum');
		o.placeholder = '1';
		o.modalonly = true;
		o = checked(s.option(form.Value, 'hysteresis', _('Hysteresis'), _('Below the quorum.')), 'virtual_server', 'hysteresis');
		o.modalonly = true;
		o = checked(s.option(form.Value, 'delay_loop', _('Check interval'), _('Default interval of its checks.')), 'virtual_server', 'delay_loop');
		o.placeholder = '60s';
		o.modalonly = true;
		o = checked(s.option(form.Flag, 'alpha', _('Alpha'), _('Real servers start down until a check passes.')), 'virtual_server', 'alpha');
		o.modalonly = true;
		o = checked(s.option(form.Flag, 'inhibit_on_failure', _('Inhibit on failure'), _('A failed real server gets weight 0 instead of leaving the table.')), 'virtual_server', 'inhibit_on_failure');
		o.modalonly = true;
		o = checked(s.option(form.Flag, 'ops', _('One-packet scheduling'), _('UDP services only.')), 'virtual_server', 'ops');
		o.modalonly = true;

		/* real_server */
		s = gridSection(m, 'real_server', _('Real servers'), _('The destinations of the virtual servers.'));
		reference(s.option(form.DynamicList, 'virtual_server', _('Virtual servers')), 'virtual_server', false, true);
		checked(s.option(form.Value, 'address', _('Address')), 'real_server', 'address');
		o = checked(s.option(form.Value, 'port', _('Port'), _('The virtual port by default.')), 'real_server', 'port');
		o = checked(s.option(form.Value, 'weight', _('Weight'), _('0-65535.')), 'real_server', 'weight');
		o.placeholder = '1';
		reference(s.option(form.DynamicList, 'check', _('Checks')), 'check', false, false);
		o = checked(s.option(form.ListValue, 'inhibit_on_failure', _('Inhibit on failure')), 'real_server', 'inhibit_on_failure');
		o.value('', _('as the virtual server'));
		o.value('1', _('yes'));
		o.value('0', _('no'));
		o.modalonly = true;

		/* check */
		s = gridSection(m, 'check', _('Health checks'), _('Templates that real servers name in their checks; one probe per real server address and port.'));
		o = checked(s.option(form.ListValue, 'type', _('Type')), 'check', 'type');
		[ 'tcp', 'http', 'https', 'smtp', 'script', 'udp', 'dns', 'ping', 'file', 'process', 'bfd' ].forEach(t => o.value(t));
		o = checked(s.option(form.Value, 'interval', _('Interval'), _('The virtual server\'s check interval by default.')), 'check', 'interval');
		o = checked(s.option(form.Value, 'timeout', _('Timeout'), _('Shorter than the interval.')), 'check', 'timeout');
		o.placeholder = '5s';
		o = checked(s.option(form.Value, 'rise', _('Rise')), 'check', 'rise');
		o.placeholder = '1';
		o.modalonly = true;
		o = checked(s.option(form.Value, 'fall', _('Fall')), 'check', 'fall');
		o.placeholder = '2';
		o.modalonly = true;
		o = checked(s.option(form.Value, 'retry_delay', _('Retry delay')), 'check', 'retry_delay');
		o.modalonly = true;
		[ 'connect_ip', 'connect_port' ].forEach(n => {
			o = checked(s.option(form.Value, n, (n === 'connect_ip') ? _('Connect to address') : _('Connect to port'),
				(n === 'connect_ip') ? _('The real server\'s by default; for bfd, the neighbour (needed).') : _('The real server\'s by default.')), 'check', n);
			[ 'tcp', 'http', 'https', 'smtp' ].concat(n === 'connect_ip' ? [ 'bfd' ] : []).forEach(t => o.depends('type', t));
			o.modalonly = true;
		});
		o = checked(s.option(form.Value, 'path', _('Path')), 'check', 'path');
		o.placeholder = '/';
		o.depends('type', 'http');
		o.depends('type', 'https');
		o.modalonly = true;
		o = checked(s.option(form.DynamicList, 'expect_status', _('Expected status'), _('200 or 200-299; any 2xx by default.')), 'check', 'expect_status');
		o.depends('type', 'http');
		o.depends('type', 'https');
		o.modalonly = true;
		o = checked(s.option(form.Value, 'host', _('Host header')), 'check', 'host');
		o.depends('type', 'http');
		o.depends('type', 'https');
		o.modalonly = true;
		o = checked(s.option(form.Value, 'sni', _('TLS server name')), 'check', 'sni');
		o.depends('type', 'https');
		o.modalonly = true;
		o = checked(s.option(form.Flag, 'verify', _('Verify certificate'), _('Needs a CA file.')), 'check', 'verify');
		o.depends('type', 'https');
		o.modalonly = true;
		o = checked(s.option(form.Value, 'ca_file', _('CA file')), 'check', 'ca_file');
		o.depends('type', 'https');
		o.modalonly = true;
		o = checked(s.option(form.Value, 'helo_name', _('HELO name')), 'check', 'helo_name');
		o.depends('type', 'smtp');
		o.modalonly = true;
		o = checked(s.option(form.Value, 'command', _('Command'), _('Run as root by /bin/sh -c; exit 0 is up.')), 'check', 'command');
		o.depends('type', 'script');
		o.modalonly = true;
		o = checked(s.option(form.Flag, 'dynamic', _('Dynamic weight'), _('The exit code sets the weight.')), 'check', 'dynamic');
		o.depends('type', 'script');
		o.modalonly = true;
		o = checked(s.option(form.Value, 'process', _('Process name'), _('As ps -o comm shows it (15 bytes at most); up while one runs.')), 'check', 'process');
		o.depends('type', 'process');
		o.modalonly = true;
		[ [ 'min_rx', _('Receive interval') ], [ 'min_tx', _('Transmit interval') ] ].forEach(n => {
			o = checked(s.option(form.Value, n[0], n[1], _('Once up; 10ms by default.')), 'check', n[0]);
			o.depends('type', 'bfd');
			o.modalonly = true;
		});
		o = checked(s.option(form.Value, 'multiplier', _('Detect multiplier'), _('Packets missed before the session is down; 5 by default.')), 'check', 'multiplier');
		o.depends('type', 'bfd');
		o.modalonly = true;

		return m.render();
	}
});
