'use strict';
'require view';
'require dom';
'require poll';
'require rpc';
'require ui';
'require keeplite.model as model';

/*
 * Status > keeplite: every VRRP instance and every virtual service with its real servers,
 * as the running daemon reports them (`ubus call keeplite status`, polled). The buttons
 * (drain, undrain, set weight, yield, hold, reload) appear only for a session whose ACL
 * grants the method (asked with `session access`), and each asks for confirmation.
 */

const callAccess = rpc.declare({
	object: 'session',
	method: 'access',
	params: [ 'scope', 'object', 'function' ],
	expect: { access: false }
});

/* One rpc call per keeplite method, named and typed as keeplite.model lists them. */
const calls = {};
Object.keys(model.METHODS).forEach(m => {
	calls[m] = rpc.declare({
		object: model.OBJECT,
		method: m,
		params: model.METHODS[m].params,
		expect: { '': {} }
	});
});

/* The status reply, or one that says why there is none (keeplite's own shape). */
function fetchStatus() {
	return calls.status().catch(e => ({ ok: false, error: (e && e.message) ? e.message : String(e) }));
}

function badge(b) {
	return E('span', { 'class': b.cls }, [ b.label ]);
}

return view.extend({
	load() {
		const queries = model.accessQueries();
		return Promise.all(queries.map(q => L.resolveDefault(callAccess(q[0], q[1], q[2]), false)))
			.then(res => {
				const answers = {};
				queries.forEach((q, i) => answers[model.accessKey(q[0], q[1], q[2])] = (res[i] === true));
				const perms = model.permissions(answers);
				return Promise.all([ perms, perms.status ? fetchStatus() : null ]);
			});
	},

	button(label, handler, important) {
		return E('button', {
			'class': 'btn cbi-button ' + (important ? 'cbi-button-negative' : 'cbi-button-action'),
			'click': ui.createHandlerFn(this, handler)
		}, [ label ]);
	},

	/* Runs an action's ubus method; keeplite's refusal goes to a notification. */
	runAction(action, target, value) {
		const params = model.actionParams(action, target, value);
		const method = (action === 'unyield') ? 'yield'
			: (action === 'release') ? 'hold' : action;
		const args = model.METHODS[method].params.map(p => params[p]);

		ui.showModal(model.confirmation(action, target, value).title, [
			E('p', { 'class': 'spinning' }, [ _('Waiting for keeplite…') ])
		]);

		return calls[method].apply(null, args).then(reply => {
			const err = model.replyError(reply);
			ui.hideModal();
			if (err)
				ui.addNotification(null, E('p', [ _('keeplite did not do it: '), err ]), 'danger');
			return this.refresh();
		}).catch(e => {
			ui.hideModal();
			ui.addNotification(null, E('p', [ _('The call failed: '), (e && e.message) ? e.message : String(e) ]), 'danger');
		});
	},

	/* The confirmation dialog of an action; set_weight and yield ask for their number. */
	handleAction(action, target, current) {
		const c = model.confirmation(action, target, current);
		let input = null, problem = null;

		if (action === 'set_weight' || action === 'yield') {
			input = E('input', {
				'type': 'number',
				'class': 'cbi-input-text',
				'min': 0,
				'max': (action === 'set_weight') ? 65535 : 86400,
				'value': (action === 'set_weight') ? (current != null ? current : '') : 300
			});
			problem = E('div', { 'class': 'cbi-value-description' });
		}

		const confirm = () => {
			let value = null;
			if (input) {
				value = input.value.trim();
				const ok = (action === 'set_weight') ? model.validateWeight(value) : model.validateSeconds(value);
				if (ok !== true) {
					dom.content(problem, ok);
					return;
				}
			}
			return this.runAction(action, target, value);
		};

		const body = input
			? [ E('p', [ (action === 'set_weight')
					? _('Weight of real server %s until the next reload or restart (0 takes it out of service without removing it):').format(target)
					: _('VRRP instance %s gives up mastership and stays BACKUP for this many seconds (at most 86400):').format(target) ]),
				E('div', {}, [ input ]), problem ]
			: [ E('p', [ c.text ]) ];

		ui.showModal(c.title, body.concat([
			E('div', { 'class': 'right' }, [
				E('button', { 'class': 'btn', 'click': ui.hideModal }, [ _('Cancel') ]),
				' ',
				E('button', { 'class': 'btn cbi-button-action important', 'click': ui.createHandlerFn(this, confirm) },
					[ _('Confirm') ])
			])
		]));
	},

	actionCell(actions, target, current) {
		return E('div', {}, actions.map(a => this.button(a.label,
			() => this.handleAction(a.action, target, current),
			a.action === 'drain' || a.action === 'yield' || a.action === 'hold')));
	},

	renderInstances(v) {
		const actions = this.perms.actions.yield || this.perms.actions.hold;
		const table = E('table', { 'class': 'table', 'id': 'keeplite-vrrp' }, [
			E('tr', { 'class': 'tr table-titles' }, [
				E('th', { 'class': 'th' }, [ _('Instance') ]),
				E('th', { 'class': 'th' }, [ _('Interface') ]),
				E('th', { 'class': 'th' }, [ _('VRID') ]),
				E('th', { 'class': 'th' }, [ _('State') ]),
				E('th', { 'class': 'th' }, [ _('Priority') ]),
				E('th', { 'class': 'th' }, [ _('Master') ]),
				E('th', { 'class': 'th' }, [ _('Virtual addresses') ]),
				E('th', { 'class': 'th' }, [ _('Since') ]),
				E('th', { 'class': 'th' }, [ _('Transitions') ]),
				actions ? E('th', { 'class': 'th cbi-section-actions' }, [ _('Actions') ]) : E([])
			])
		]);

		cbi_update_table(table, v.instances.map(i => {
			const row = [
				i.name,
				i.interface,
				String(i.vrid),
				E('span', { 'data-instance': i.name, 'data-state': i.state }, [
					badge(i.stateBadge), i.notes.length ? ' (' + i.notes.join(', ') + ')' : ''
				]),
				i.priority,
				i.master,
				i.vips.join(', '),
				i.since,
				i.transitions
			];
			if (actions)
				row.push(this.actionCell(model.instanceActions(i, this.perms), i.name, null));
			return row;
		}), E('em', [ _('No VRRP instances') ]));

		return table;
	},

	renderService(s) {
		const actions = this.perms.actions.drain || this.perms.actions.undrain || this.perms.actions.set_weight;
		const table = E('table', { 'class': 'table', 'data-service': s.name }, [
			E('tr', { 'class': 'tr table-titles' }, [
				E('th', { 'class': 'th' }, [ _('Real server') ]),
				E('th', { 'class': 'th' }, [ _('Address') ]),
				E('th', { 'class': 'th' }, [ _('Health') ]),
				E('th', { 'class': 'th' }, [ _('Weight') ]),
				E('th', { 'class': 'th' }, [ _('In kernel') ]),
				E('th', { 'class': 'th' }, [ _('Last check') ]),
				E('th', { 'class': 'th' }, [ _('Active') ]),
				E('th', { 'class': 'th' }, [ _('Inactive') ]),
				E('th', { 'class': 'th' }, [ _('Connections') ]),
				actions ? E('th', { 'class': 'th cbi-section-actions' }, [ _('Actions') ]) : E([])
			])
		]);

		cbi_update_table(table, s.realServers.map(r => {
			const row = [
				r.name,
				r.endpoint,
				E('span', { 'data-real-server': r.name, 'data-health': r.health }, [ badge(r.healthBadge) ]),
				r.weight,
				r.kernelWeight,
				r.check,
				r.active,
				r.inactive,
				r.conns
			];
			if (actions)
				row.push(this.actionCell(model.realServerActions(r, this.perms), r.name, r.weight));
			return row;
		}), E('em', [ _('No real servers') ]));

		return E('div', { 'class': 'cbi-section' }, [
			E('h3', {}, [
				s.name, ' — ', s.service, ' (', s.scheduler, ', ', s.forward, ') ', badge(s.quorumBadge)
			]),
			table
		]);
	},

	/* Shows a fresh reply; a failed one keeps the last good tables, greyed, under a banner. */
	update(reply) {
		const v = model.statusView(reply);

		if (!v.ok) {
			dom.content(this.banner, E('div', { 'class': 'alert-message warning' }, [
				_('No fresh status from keeplite: '), v.error
			]));
			this.content.style.opacity = this.shown ? '0.5' : '';
			return;
		}

		this.shown = true;
		this.content.style.opacity = '';
		dom.content(this.banner, (v.schemaKnown === false)
			? E('div', { 'class': 'alert-message notice' }, [ _('keeplite answers with status schema %s; this page knows schema 1.').format(v.schema) ])
			: null);
		dom.content(this.summary, [
			E('p', {}, [
				_('keeplite %s on %s, up %s; IPVS %s, %s probe(s).').format(v.version, v.routerId, v.uptime, v.ipvs, v.probes)
			])
		]);
		dom.content(this.vrrp, this.renderInstances(v));
		dom.content(this.services, v.services.length
			? v.services.map(s => this.renderService(s))
			: E('em', [ _('No virtual services') ]));
	},

	refresh() {
		return fetchStatus().then(reply => this.update(reply));
	},

	handleReload() {
		const c = model.confirmation('reload', null, null);
		ui.showModal(c.title, [
			E('p', [ c.text ]),
			E('div', { 'class': 'right' }, [
				E('button', { 'class': 'btn', 'click': ui.hideModal }, [ _('Cancel') ]),
				' ',
				E('button', {
					'class': 'btn cbi-button-action important',
					'click': ui.createHandlerFn(this, () => this.runAction('reload', null, null))
				}, [ _('Confirm') ])
			])
		]);
	},

	render(data) {
		this.perms = data[0];

		if (!this.perms.status)
			return E('div', { 'class': 'cbi-map' }, [
				E('h2', [ _('keeplite') ]),
				E('div', { 'class': 'alert-message warning' }, [
					_('This login may not read keeplite\'s status: its ACL needs the role keeplite-read.')
				])
			]);

		this.banner = E('div');
		this.summary = E('div', { 'class': 'cbi-section' });
		this.vrrp = E('div');
		this.services = E('div');
		this.content = E('div', {}, [
			this.summary,
			E('div', { 'class': 'cbi-section' }, [ E('h3', [ _('VRRP instances') ]), this.vrrp ]),
			E('div', { 'class': 'cbi-section' }, [ E('h3', [ _('Virtual services') ]), this.services ])
		]);
		this.update(data[1]);

		poll.add(() => this.refresh());

		return E('div', { 'class': 'cbi-map' }, [
			E('h2', [ _('keeplite') ]),
			E('div', { 'class': 'cbi-map-descr' }, [
				_('VRRP instances, virtual services and real servers as the running keeplite reports them.')
			]),
			this.perms.actions.reload
				? E('div', { 'class': 'right' }, [ this.button(_('Reload configuration…'), () => this.handleReload(), false) ])
				: E([]),
			this.banner,
			this.content
		]);
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
