// The seed's authorizer in Node, as a Lambda custom-runtime loop: polls the Runtime API and
// answers HTTP API simple responses. VERIFY_STYLE=seed passes the secret as a string (as the
// tutorial does); VERIFY_STYLE=careful passes a KeyObject made once.
const http = require('http');
const crypto = require('crypto');
const jwt = require('jsonwebtoken');

const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const secret = process.env.JWT_ACCESS_SECRET;
const key = process.env.VERIFY_STYLE === 'careful' ? crypto.createSecretKey(Buffer.from(secret)) : secret;
const options = { algorithms: ['HS256'], issuer: process.env.JWT_ISSUER, audience: process.env.JWT_AUDIENCE };

function request(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path, agent, headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    // One write for headers and body: separate writes meet delayed ACKs and add ~40 ms.
    req.end(body);
  });
}

async function main() {
  for (;;) {
    const next = await request('GET', '/2018-06-01/runtime/invocation/next');
    const id = next.headers['lambda-runtime-aws-request-id'];
    const event = JSON.parse(next.body);
    let answer = { isAuthorized: false, context: {} };
    try {
      const header = (event.headers && event.headers.authorization) || '';
      const token = header.startsWith('Bearer ') ? header.slice(7) : '';
      const claims = jwt.verify(token, key, options);
      answer = { isAuthorized: true, context: { userId: claims.sub, role: claims.role, sessionId: claims.sid, expiresAt: claims.exp } };
    } catch (error) {
      answer = { isAuthorized: false, context: {} };
    }
    await request('POST', `/2018-06-01/runtime/invocation/${id}/response`, JSON.stringify(answer));
  }
}
main();
