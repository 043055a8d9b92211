#!/usr/bin/env node
// The web push service emulator (web-push-testing) for the Python tests, on 127.0.0.1 only.
//
//   node push-emulator.js <port>     (0 = any free port)
//
// Prints exactly one line to stdout, "listening http://127.0.0.1:<port>", once it accepts
// connections; anything else (library logs, errors) goes to stderr. Exits when stdin closes (the
// test process that started it has gone, however it died) or on SIGTERM/SIGINT.
//
// Why not the package's own entry points: its CLI ("web-push-testing start") daemonises and
// listens on all interfaces; its package.json "main" names a server.js that does not exist, so
// the TestingServer class is required from src/server.js; and TestingServer.startServer() calls
// app.listen(port) without a host (all interfaces) and logs to stdout. So this script builds the
// TestingServer, registers its routes itself and listens on 127.0.0.1 with the server's express app.
'use strict';

const TestingServer = require('web-push-testing/src/server.js');
const {PushApiModel} = require('web-push-testing/src/PushApiModel.js');

const HOST = '127.0.0.1';

// stdout carries only the "listening" line: route the library's console output to stderr.
console.log = console.error;
console.info = console.error;

const requested = Number(process.argv[2] ?? '0');
if (!Number.isInteger(requested) || requested < 0 || requested > 65535) {
	console.error(`push-emulator: invalid port ${JSON.stringify(process.argv[2])}`);
	process.exit(2);
}

const model = new PushApiModel();
// The constructor sets model.notifyUrl to http://localhost:<port>/notify/; it is set again below
// once the real port is known.
const server = new TestingServer(model, requested);
server.setRequestHandlers();

const http = server._app.listen(requested, HOST, () => {
	const {port} = http.address();
	server._port = port;
	server._server = http;
	// Subscription endpoints: the address actually listened on (not "localhost", which may be ::1).
	model.notifyUrl = `http://${HOST}:${port}/notify/`;
	process.stdout.write(`listening http://${HOST}:${port}\n`);
});
http.on('error', err => {
	console.error(`push-emulator: cannot listen on ${HOST}:${requested}: ${err.message}`);
	process.exit(1);
});

let stopping = false;
function stop() {
	if (stopping) {
		return;
	}

	stopping = true;
	http.close();
	if (typeof http.closeAllConnections === 'function') {
		http.closeAllConnections();
	}

	// Do not wait on stragglers: the emulator holds nothing worth saving.
	setTimeout(() => process.exit(0), 200).unref();
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.on('error', stop);
process.stdin.resume();
