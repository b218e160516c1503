'use strict';
/* A small test runner (node 18 has no stable node:test): t(name, fn), then run(). */
const tests = [];

function t(name, fn) {
	tests.push({ name, fn });
}

async function run(file) {
	let failed = 0;
	for (const { name, fn } of tests) {
		try {
			await fn();
			console.log('ok: ' + name);
		}
		catch (e) {
			failed++;
			console.log('FAIL: ' + name + '\n  ' + String(e && e.stack || e).split('\n').join('\n  '));
		}
	}
	console.log(file + ': ' + (tests.length - failed) + ' passed, ' + failed + ' failed');
	process.exitCode = failed ? 1 : 0;
}

module.exports = { t, run };
