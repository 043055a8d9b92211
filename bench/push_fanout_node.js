#!/usr/bin/env node
// The reference for bench/push_fanout.py: the Node `web-push` library (tests/node/node_modules,
// pinned by tests/node/package-lock.json) sending one message to every subscription in a JSON file,
// at most `concurrency` requests in flight. Not a benchmark on its own: push_fanout.py writes the
// file, runs this script and reads the one JSON line it prints.
//
//   node bench/push_fanout_node.js <job.json>
//
// job.json: {"subscriptions": [{"endpoint", "keys": {"p256dh", "auth"}}, ...], "payload": "<text>",
//            "vapid": {"subject", "publicKey", "privateKey"}, "concurrency": 64, "ttl": 43200,
//            "urgency": "high", "timeoutMs": 10000}
// stdout:   {"elapsed_s": <seconds from the first send to the last answer>, "cpu_s": <CPU seconds
//            (user + system) of this process meanwhile>, "sent": <n>,
//            "statuses": {"201": <n>, ...}, "errors": {"<code or message>": <n>}, "node": "<version>",
//            "web_push": "<version>"}
//
// Every call is webpush.sendNotification(subscription, payload, {vapidDetails, TTL, urgency,
// contentEncoding: 'aes128gcm', agent, timeout}): the library encrypts (a fresh ECDH key per
// message) and signs a VAPID JWT per message, as it always does. The one adaptation: web-push
// always calls https.request, and the emulator and the sink speak plain HTTP on 127.0.0.1, so the
// `agent` option (which must be an https.Agent) is an https.Agent whose connections are plain TCP
// sockets. It keeps connections alive (as Node 20's global agent does) with at most `concurrency`
// sockets, like the Python sender's connection pool.
'use strict';

const fs = require('fs');
const https = require('https');
const net = require('net');
const path = require('path');
const {createRequire} = require('module');

const fromTests = createRequire(path.join(__dirname, '..', 'tests', 'node', 'package.json'));
const webpush = fromTests('web-push');
const webPushVersion = fromTests('web-push/package.json').version;

class PlainHttpAgent extends https.Agent {
	// Agent#createSocket uses the socket this returns; https.Agent's own would start TLS.
	createConnection(options) {
		const socket = net.createConnection({host: options.host, port: options.port});
		socket.setNoDelay(true);
		return socket;
	}
}

async function main() {
	const jobPath = process.argv[2];
	if (!jobPath) {
		console.error('usage: node push_fanout_node.js <job.json>');
		process.exit(2);
	}

	const job = JSON.parse(fs.readFileSync(jobPath, 'utf8'));
	const concurrency = job.concurrency;
	const agent = new PlainHttpAgent({keepAlive: true, maxSockets: concurrency});
	const options = {
		vapidDetails: job.vapid,
		TTL: job.ttl,
		urgency: job.urgency,
		contentEncoding: 'aes128gcm',
		agent,
		timeout: job.timeoutMs,
	};
	const subscriptions = job.subscriptions;
	const statuses = {};
	const errors = {};
	let next = 0;

	async function lane() {
		while (next < subscriptions.length) {
			const subscription = subscriptions[next];
			next += 1;
			try {
				// eslint-disable-next-line no-await-in-loop
				const answer = await webpush.sendNotification(subscription, job.payload, options);
				statuses[answer.statusCode] = (statuses[answer.statusCode] || 0) + 1;
			} catch (error) {
				if (error.statusCode) {
					statuses[error.statusCode] = (statuses[error.statusCode] || 0) + 1;
					const key = `${error.statusCode} ${String(error.body).slice(0, 120)}`;
					errors[key] = (errors[key] || 0) + 1;
				} else {
					const key = error.code || String(error.message).slice(0, 120);
					errors[key] = (errors[key] || 0) + 1;
				}
			}
		}
	}

	const started = process.hrtime.bigint();
	const cpuBefore = process.cpuUsage();
	await Promise.all(Array.from({length: concurrency}, lane));
	const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
	const cpu = process.cpuUsage(cpuBefore);
	agent.destroy();
	process.stdout.write(JSON.stringify({
		elapsed_s: elapsed,
		cpu_s: (cpu.user + cpu.system) / 1e6,
		sent: subscriptions.length,
		statuses,
		errors,
		node: process.version,
		web_push: webPushVersion,
	}) + '\n');
}

main().catch(error => {
	console.error(error);
	process.exit(1);
});
