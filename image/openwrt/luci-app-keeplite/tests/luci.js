'use strict';
/*
 * Just enough of LuCI to load the app's files under node the way luci.js does: the
 * 'require' header scanned as luci.js scans it, the file body run as
 * `function(window, document, L, <deps>)`, the result required to be a class (a
 * "factory yields invalid constructor" otherwise) and instantiated. The LuCI classes the
 * views use are stand-ins that record what the views do with them: rpc.declare specs,
 * poll functions, modals, notifications, form sections and options, table rows.
 */
const fs = require('fs');
const path = require('path');

const HTDOCS = path.join(__dirname, '..', 'htdocs', 'luci-static', 'resources');

/* LuCI's Class: extend, isSubclass, instantiate, super. */
function makeClass() {
	function Class() {}
	Class.extend = function(props) {
		const Parent = this;
		function Sub() {
			if (typeof this.__init__ === 'function')
				this.__init__.apply(this, arguments);
		}
		Sub.prototype = Object.create(Parent.prototype);
		Object.keys(props).forEach(k => Object.defineProperty(Sub.prototype, k,
			Object.getOwnPropertyDescriptor(props, k)));
		Sub.prototype.constructor = Sub;
		Sub.extend = Class.extend;
		Sub.isSubclass = Class.isSubclass;
		Sub.instantiate = function(args) {
			const o = Object.create(Sub.prototype);
			Sub.apply(o, args);
			return o;
		};
		Sub.__parent = Parent;
		return Sub;
	};
	Class.isSubclass = function(C) {
		for (let p = C; p; p = p.__parent)
			if (p === this)
				return true;
		return false;
	};
	return Class;
}

/* A DOM node stand-in: tag, attributes, children; E() as LuCI's. */
function node(tag, attrs, children) {
	if (Array.isArray(attrs) || typeof attrs === 'string' || (attrs && attrs.__node)) {
		children = attrs;
		attrs = {};
	}
	const n = { __node: true, tag: tag, attrs: attrs || {}, children: [], style: {} };
	const add = c => {
		if (c == null || c === false)
			return;
		if (Array.isArray(c))
			c.forEach(add);
		else if (c.__node && c.tag === '#fragment')
			c.children.forEach(add);
		else
			n.children.push(c);
	};
	add(children);
	return n;
}

function E(tag, attrs, children) {
	if (Array.isArray(tag))
		return node('#fragment', {}, tag);
	return node(tag, attrs, children);
}

function textOf(n) {
	if (n == null)
		return '';
	if (typeof n !== 'object')
		return String(n);
	if (Array.isArray(n))
		return n.map(textOf).join('');
	return (n.children || []).map(textOf).join('') + (n.rows ? n.rows.map(r => r.map(textOf).join(' ')).join('\n') : '');
}

/* Every node under n (rows of updated tables included) for which pred holds. */
function findAll(n, pred, out) {
	out = out || [];
	if (n == null || typeof n !== 'object')
		return out;
	if (Array.isArray(n)) {
		n.forEach(c => findAll(c, pred, out));
		return out;
	}
	if (pred(n))
		out.push(n);
	(n.children || []).forEach(c => findAll(c, pred, out));
	(n.rows || []).forEach(r => findAll(r, pred, out));
	return out;
}

/* A fresh LuCI runtime; `rpcReplies(object, method, args)` answers rpc calls. */
function runtime(opts) {
	opts = opts || {};
	const Class = makeClass();
	const rt = {
		declared: [],
		calls: [],
		polls: [],
		modals: [],
		notifications: [],
		sections: []
	};

	const rpc = {
		declare(spec) {
			rt.declared.push(spec);
			return function() {
				const args = Array.prototype.slice.call(arguments);
				const params = {};
				(spec.params || []).forEach((p, i) => params[p] = args[i]);
				rt.calls.push({ object: spec.object, method: spec.method, params: params });
				return Promise.resolve(opts.rpc ? opts.rpc(spec.object, spec.method, params) : null)
					.then(reply => {
						if (reply instanceof Error)
							throw reply;
						if (spec.expect && Object.keys(spec.expect)[0] !== '') {
							const k = Object.keys(spec.expect)[0];
							return (reply && reply[k] != null) ? reply[k] : spec.expect[k];
						}
						return reply;
					});
			};
		}
	};

	const ui = {
		showModal(title, body) { rt.modals.push({ title: title, body: body }); },
		hideModal() { rt.modals.push(null); },
		addNotification(title, body, kind) { rt.notifications.push({ body: textOf(body), kind: kind }); },
		createHandlerFn(ctx, fn) {
			const args = Array.prototype.slice.call(arguments, 2);
			return function() { return (typeof fn === 'string' ? ctx[fn] : fn).apply(ctx, args); };
		}
	};

	const poll = { add(fn, interval) { rt.polls.push(fn); } };
	const dom = {
		content(n, children) {
			n.children = [];
			const add = c => {
				if (c == null || c === '') return;
				if (Array.isArray(c)) c.forEach(add);
				else if (c.__node && c.tag === '#fragment') c.children.forEach(add);
				else n.children.push(c);
			};
			add(children);
			return n;
		}
	};

	/* form: sections and options recorded; option properties as the views set them. */
	const Option = Class.extend({
		__init__(section, option, title, description) {
			this.section = section;
			this.option = option;
			this.title = title;
			this.description = description;
			this.deps = [];
			this.choices = [];
			this.enabled = '1';
			this.disabled = '0';
		},
		depends(k, v) { this.deps.push((typeof k === 'object') ? k : { [k]: v }); },
		value(k, v) { this.choices.push(k); }
	});
	const form = {
		Value: Option.extend({ widget: 'value' }),
		ListValue: Option.extend({ widget: 'list' }),
		DynamicList: Option.extend({ widget: 'dynlist' }),
		Flag: Option.extend({ widget: 'flag' }),
		MultiValue: Option.extend({ widget: 'multi' })
	};
	const Section = Class.extend({
		__init__(map, type, title, description) {
			this.map = map;
			this.sectiontype = type;
			this.title = title;
			this.children = [];
			this.tabs = [];
		},
		tab(name, title) { this.tabs.push(name); },
		option(cls, name, title, description) {
			const o = new cls(this, name, title, description);
			this.children.push(o);
			return o;
		},
		taboption(tab, cls, name, title, description) { return this.option(cls, name, title, description); },
		cfgsections() { return []; },
		formvalue(section_id, option) {
			const vals = (opts.formvalues || {})[section_id] || {};
			return vals[option];
		},
		handleAdd(ev, name) { rt.added = name; return Promise.resolve(); },
		renderSectionAdd() { return E('div', { 'class': 'add' }); }
	});
	form.TypedSection = Section.extend({});
	form.GridSection = form.TypedSection.extend({});
	form.NamedSection = Section.extend({});
	form.Map = Class.extend({
		__init__(config, title, description) {
			this.config = config;
			this.title = title;
			rt.map = this;
		},
		section(cls, type, title, description) {
			const s = new cls(this, type, title, description);
			rt.sections.push(s);
			return s;
		},
		render() { return Promise.resolve(E('div', { 'class': 'cbi-map' })); }
	});

	const uciData = opts.uci || {};
	const uci = {
		load(config) { rt.uciLoaded = config; return Promise.resolve(); },
		sections(config, type) {
			return Object.keys(uciData).filter(n => uciData[n]['.type'] === type)
				.map(n => Object.assign({ '.name': n }, uciData[n]));
		},
		get(config, section, option) { return (uciData[section] || {})[option]; }
	};

	const View = Class.extend({
		handleSave() {},
		handleSaveApply() {},
		handleReset() {}
	});

	const L = {
		resolveDefault(p, d) { return Promise.resolve(p).catch(() => d); },
		hasViewPermission() { return true; },
		require(name) { return Promise.resolve(rt.modules[name]); },
		env: {}
	};

	rt.modules = {
		baseclass: Class,
		view: View,
		rpc: rpc,
		ui: ui,
		poll: poll,
		dom: dom,
		form: form,
		uci: uci
	};
	rt.Class = Class;
	rt.View = View;
	rt.L = L;

	const globals = {
		E: E,
		_: s => s,
		cbi_update_table(table, rows, placeholder) { table.rows = rows; table.placeholder = placeholder; }
	};
	/* String.prototype.format, as LuCI adds it (%s, %d only). */
	if (!String.prototype.format)
		Object.defineProperty(String.prototype, 'format', {
			configurable: true,
			value: function() {
				let i = 0;
				const args = arguments;
				return this.replace(/%[sd]/g, () => String(args[i++]));
			}
		});
	Object.assign(global, globals);

	/* luci.js's require: the header's 'require NAME [as ALIAS]' strings, then the body. */
	rt.require = function(name) {
		if (rt.modules[name] !== undefined)
			return rt.modules[name];
		const file = path.join(HTDOCS, name.replace(/\./g, '/') + '.js');
		const source = fs.readFileSync(file, 'utf8');
		const deps = [], aliases = [];
		const requirematch = /^require[ \t]+(\S+)(?:[ \t]+as[ \t]+([a-zA-Z_]\S*))?$/;
		const strictmatch = /^use[ \t]+strict$/;
		for (let i = 0, off = -1, prev = -1, quote = -1, comment = -1, esc = false; i < source.length; i++) {
			const chr = source.charCodeAt(i);
			if (esc)
				esc = false;
			else if (comment != -1) {
				if ((comment == 47 && chr == 10) || (comment == 42 && prev == 42 && chr == 47))
					comment = -1;
			}
			else if ((chr == 42 || chr == 47) && prev == 47)
				comment = chr;
			else if (chr == 92)
				esc = true;
			else if (chr == quote) {
				const s = source.substring(off, i), m = requirematch.exec(s);
				if (m) {
					deps.push(m[1]);
					aliases.push(m[2] || m[1].replace(/[^a-zA-Z0-9_]/g, '_'));
				}
				else if (!strictmatch.exec(s))
					break;
				off = -1;
				quote = -1;
			}
			else if (quote == -1 && (chr == 34 || chr == 39)) {
				off = i + 1;
				quote = chr;
			}
			prev = chr;
		}
		const instances = deps.map(d => rt.require(d));
		const factory = new Function('window', 'document', 'L', ...aliases, source);
		const cls = factory.apply(factory, [ {}, {}, L ].concat(instances));
		if (!Class.isSubclass(cls))
			throw new TypeError('"' + name + '" factory yields invalid constructor');
		rt.modules[name] = new cls();
		rt.modules[name].__deps = deps;
		return rt.modules[name];
	};

	return rt;
}

module.exports = { runtime, E, textOf, findAll, HTDOCS };
