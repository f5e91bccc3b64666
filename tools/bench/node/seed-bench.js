// The seed's Node stack in-process: jsonwebtoken sign and verify throughput for the claims our
// access tokens carry, written two ways, and bcrypt cost-12 hashing. Prints one JSON object.
//   seed     the secret passed to jwt.sign / jwt.verify as a string (the tutorial's code)
//   careful  crypto.createSecretKey(Buffer.from(secret)) once, the KeyObject passed as the key
// Env: JWT_ACCESS_SECRET (else a random one), JWT_ISSUER, JWT_AUDIENCE; NODE_PATH must reach
// jsonwebtoken@9 and bcrypt@5 (scripts/bench installs them into target/bench-node).
'use strict';

const crypto = require('node:crypto');
const jwt = require('jsonwebtoken');
const bcrypt = require('bcrypt');

const secret = process.env.JWT_ACCESS_SECRET || crypto.randomBytes(48).toString('base64url');
const key = crypto.createSecretKey(Buffer.from(secret));
const issuer = process.env.JWT_ISSUER || 'jwt-auth';
const audience = process.env.JWT_AUDIENCE || 'api';
const MIN_SECONDS = Number(process.env.BENCH_MIN_SECONDS || 1.5);

function claims() {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: crypto.randomBytes(16).toString('hex'),
    role: 'user',
    sid: crypto.randomBytes(16).toString('hex'),
    iss: issuer,
    aud: audience,
    iat: now,
    nbf: now,
    exp: now + 900,
    jti: crypto.randomBytes(16).toString('hex'),
  };
}

// Runs `op` in batches until MIN_SECONDS have passed (after a warm-up); returns per-op figures.
function measure(name, label, op) {
  let sink = 0;
  for (let i = 0; i < 500; i++) sink += op().length || 1;
  let ops = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  const limit = BigInt(Math.round(MIN_SECONDS * 1e9));
  while (elapsed < limit) {
    for (let i = 0; i < 100; i++) sink += op().length || 1;
    ops += 100;
    elapsed = process.hrtime.bigint() - start;
  }
  if (sink === 0) throw new Error('unreachable');
  const seconds = Number(elapsed) / 1e9;
  return { name, label, ops, seconds, us_per_op: (seconds * 1e6) / ops, ops_per_s: ops / seconds };
}

async function bcryptHashes(runs) {
  const password = 'correct horse battery staple';
  const times = [];
  await bcrypt.hash(password, 12); // warm-up (thread pool, code paths)
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await bcrypt.hash(password, 12);
    times.push(Number(process.hrtime.bigint() - start) / 1e3);
  }
  times.sort((a, b) => a - b);
  const median = times.length % 2 ? times[(times.length - 1) / 2] : (times[times.length / 2 - 1] + times[times.length / 2]) / 2;
  return { label: 'bcrypt hash, cost 12 (await bcrypt.hash)', runs, median_us: median, samples_us: times };
}

async function main() {
  const payload = claims();
  const carefulSign = { algorithm: 'HS256' };
  const carefulVerify = { algorithms: ['HS256'], issuer, audience };
  const token = jwt.sign(payload, key, carefulSign);
  // Both styles must accept the same token before anything is timed.
  jwt.verify(token, secret);
  jwt.verify(token, key, carefulVerify);

  const results = [
    measure('sign_seed', 'jsonwebtoken sign, secret as a string (seed)', () => jwt.sign(payload, secret)),
    measure('verify_seed', 'jsonwebtoken verify, secret as a string (seed)', () => {
      jwt.verify(token, secret);
      return token;
    }),
    measure('sign_careful', 'jsonwebtoken sign, KeyObject (careful)', () => jwt.sign(payload, key, carefulSign)),
    measure('verify_careful', 'jsonwebtoken verify, KeyObject + pinned alg/iss/aud (careful)', () => {
      jwt.verify(token, key, carefulVerify);
      return token;
    }),
  ];
  const out = {
    node: process.version,
    jsonwebtoken: require('jsonwebtoken/package.json').version,
    bcrypt: require('bcrypt/package.json').version,
    jwt: results,
    bcrypt_cost12: [await bcryptHashes(Number(process.env.BENCH_BCRYPT_RUNS || 5))],
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
