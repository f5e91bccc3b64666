// The seed's token check as a Lambda authorizer on a custom runtime: polls the Runtime API at
// AWS_LAMBDA_RUNTIME_API (plain `http`, one keep-alive connection), verifies the bearer token
// with jsonwebtoken and answers an HTTP API simple response `{isAuthorized, context}`.
// BENCH_JWT_STYLE selects how the secret reaches jsonwebtoken:
//   seed     jwt.verify(token, process.env.JWT_ACCESS_SECRET), a string, as the seed writes it
//   careful  a KeyObject made once with crypto.createSecretKey, plus pinned algorithm, iss, aud
// Run by tools/bench under the same harness as the Rust authorizer.
'use strict';

const http = require('node:http');
const crypto = require('node:crypto');
const jwt = require('jsonwebtoken');

const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const base = '/2018-06-01/runtime';

function verifier() {
  const secret = process.env.JWT_ACCESS_SECRET;
  if (process.env.BENCH_JWT_STYLE === 'careful') {
    const key = crypto.createSecretKey(Buffer.from(secret));
    const options = {
      algorithms: ['HS256'],
      issuer: process.env.JWT_ISSUER,
      audience: process.env.JWT_AUDIENCE,
    };
    return (token) => jwt.verify(token, key, options);
  }
  return (token) => jwt.verify(token, secret);
}

const verify = verifier();

function tokenOf(event) {
  const headers = event.headers || {};
  const header = headers.authorization || headers.Authorization || '';
  const bearer = /^Bearer\s+(\S+)$/i.exec(header);
  if (bearer) return bearer[1];
  for (const cookie of event.cookies || []) {
    if (cookie.startsWith('accessToken=')) return cookie.slice('accessToken='.length);
  }
  return null;
}

function authorize(event) {
  const token = tokenOf(event);
  if (!token) return { isAuthorized: false };
  try {
    const claims = verify(token);
    return {
      isAuthorized: true,
      context: {
        userId: claims.sub,
        role: claims.role,
        sessionId: claims.sid,
        expiresAt: claims.exp,
      },
    };
  } catch (_) {
    return { isAuthorized: false };
  }
}

function call(method, path, body) {
  return new Promise((resolve, reject) => {
    const headers = {};
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const request = http.request({ host, port, method, path, agent, headers }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

async function main() {
  for (;;) {
    const next = await call('GET', `${base}/invocation/next`);
    const id = next.headers['lambda-runtime-aws-request-id'];
    let result;
    try {
      result = JSON.stringify(authorize(JSON.parse(next.body)));
    } catch (error) {
      const failure = { errorType: error.name || 'Error', errorMessage: String(error.message) };
      await call('POST', `${base}/invocation/${id}/error`, JSON.stringify(failure));
      continue;
    }
    await call('POST', `${base}/invocation/${id}/response`, result);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
