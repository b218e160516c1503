'use strict';
/*
 * rpcd's and LuCI's access rules, as their sources state them, to tell what a login gets
 * from the ACL files (/usr/share/rpcd/acl.d/*.json):
 *   - rpcd session.c, rpc_login_setup_acl_file / rpc_login_test_permission: a group's
 *     "read" section is granted when the login's `read` or `write` list matches the group
 *     (fnmatch; `!pattern` entries deny first; write implies read), its "write" section
 *     only when the `write` list does; each granted section also grants the group itself
 *     in the "access-group" scope with the permission as function. Table scopes
 *     ({"ubus": {"obj": ["fn"]}}) grant (scope, object, fn); array scopes
 *     ({"uci": ["cfg"]}) grant (scope, cfg, "read" or "write").
 *   - rpcd session.c, rpc_session_acl_allowed: `session access` is true when an entry of
 *     the scope matches object and function (fnmatch, wildcards in the entry).
 *   - LuCI dispatcher.uc, check_acl_depends: a menu node with depends.acl is shown when
 *     every listed group is granted read or write; read-only unless one is granted write.
 */

/* fnmatch(3) without flags: *, ? and [...] classes. */
function fnmatch(pattern, s) {
	let re = '^';
	for (let i = 0; i < pattern.length; i++) {
		const c = pattern[i];
		if (c === '*')
			re += '.*';
		else if (c === '?')
			re += '.';
		else if (c === '[') {
			const j = pattern.indexOf(']', i + 2);
			if (j < 0) {
				re += '\\[';
				continue;
			}
			let cls = pattern.substring(i + 1, j);
			if (cls[0] === '!')
				cls = '^' + cls.substring(1);
			re += '[' + cls.replace(/\\/g, '\\\\') + ']';
			i = j;
		}
		else
			re += c.replace(/[.*+?^${}()|[\]\\\/]/g, '\\$&');
	}
	return new RegExp(re + '$').test(s);
}

/* rpc_login_test_permission: login is { read: [...], write: [...] }. */
function loginHas(login, perm, group) {
	const entries = login[perm] || [];
	for (const e of entries) {
		if (e[0] !== '!')
			continue;
		const p = e.substring(1).trim();
		if (p && fnmatch(p, group))
			return false;
	}
	if (entries.some(e => e && e[0] !== '!' && fnmatch(e, group)))
		return true;
	return perm === 'read' ? loginHas(login, 'write', group) : false;
}

/* The session's ACL entries: [{ scope, object, fn }]. */
function sessionAcls(aclFiles, login) {
	const acls = [];
	for (const file of aclFiles) {
		for (const group of Object.keys(file)) {
			for (const perm of [ 'read', 'write' ]) {
				const sec = file[group][perm];
				if (sec == null || typeof sec !== 'object' || Array.isArray(sec))
					continue;
				if (!loginHas(login, perm, group))
					continue;
				for (const scope of Object.keys(sec)) {
					const v = sec[scope];
					if (Array.isArray(v))
						v.forEach(o => typeof o === 'string' && acls.push({ scope, object: o, fn: perm }));
					else if (v && typeof v === 'object')
						Object.keys(v).forEach(o => (Array.isArray(v[o]) ? v[o] : []).forEach(f =>
							typeof f === 'string' && acls.push({ scope, object: o, fn: f })));
					acls.push({ scope: 'access-group', object: group, fn: perm });
				}
			}
		}
	}
	return acls;
}

/* `ubus call session access {scope, object, function}`. */
function access(acls, scope, object, fn) {
	return acls.some(a => a.scope === scope && fnmatch(a.object, object) && fnmatch(a.fn, fn));
}

/* check_acl_depends: null (hidden), false (read-only) or true (writable). */
function menuAccess(node, acls) {
	const groups = ((node.depends || {}).acl) || [];
	if (!groups.length)
		return true;
	let writable = false;
	for (const g of groups) {
		const read = access(acls, 'access-group', g, 'read');
		const write = access(acls, 'access-group', g, 'write');
		if (!read && !write)
			return null;
		if (write)
			writable = true;
	}
	return writable;
}

module.exports = { fnmatch, loginHas, sessionAcls, access, menuAccess };
