// The seed's stack in-process: jsonwebtoken sign/verify as the tutorial writes it (secret as a
// string) and as a careful user would (a KeyObject), and bcrypt cost 12. Prints JSON µs/op.
const crypto = require('crypto');
const jwt = require('jsonwebtoken');
const bcrypt = require('bcrypt');

const secret = process.env.JWT_ACCESS_SECRET;
const keyObject = crypto.createSecretKey(Buffer.from(secret));
const claims = { sub: '0123456789abcdef0123456789abcdef', role: 'user', sid: 'fedcba9876543210fedcba9876543210' };
const signOptions = { algorithm: 'HS256', expiresIn: '15m', issuer: 'https://auth.bench', audience: 'bench-api' };
const verifyOptions = { algorithms: ['HS256'], issuer: 'https://auth.bench', audience: 'bench-api' };

function microseconds(fn, iterations) {
  for (let i = 0; i < Math.min(200, iterations); i++) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  return Number(process.hrtime.bigint() - start) / 1000 / iterations;
}

const token = jwt.sign(claims, secret, signOptions);
const result = {
  'jsonwebtoken sign, secret as string (seed)': microseconds(() => jwt.sign(claims, secret, signOptions), 2000),
  'jsonwebtoken verify, secret as string (seed)': microseconds(() => jwt.verify(token, secret, verifyOptions), 2000),
  'jsonwebtoken sign, KeyObject (careful)': microseconds(() => jwt.sign(claims, keyObject, signOptions), 20000),
  'jsonwebtoken verify, KeyObject (careful)': microseconds(() => jwt.verify(token, keyObject, verifyOptions), 20000),
};
const start = process.hrtime.bigint();
const runs = 3;
for (let i = 0; i < runs; i++) bcrypt.hashSync('correct horse battery staple', 12);
result['bcrypt hash, cost 12'] = Number(process.hrtime.bigint() - start) / 1000 / runs;
for (const name of Object.keys(result)) result[name] = Math.round(result[name] * 10) / 10;
process.stdout.write(JSON.stringify(result));
