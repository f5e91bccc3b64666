// A real OpenID provider (npm oidc-provider 8.8.1, OpenID Certified) for local runs and tests.
// Its one interaction is headless: /interaction/:uid?email=..&email_verified=..&sub=..&name=..
// signs that account in and grants the client's scopes, so a test (or the form this serves
// without parameters) chooses who signs in and whether the provider verified the address.
//
//   node local-op.mjs --port P --client-id ID --client-secret S --redirect-uri URI [--redirect-uri URI...]
//
// Prints "local-op listening on http://127.0.0.1:P" once it serves. `--port 0` takes a free
// port (the line says which): no other process can take it between choosing and binding.
import { createServer } from 'node:http';
import { generateKeyPairSync, createHash } from 'node:crypto';
import Provider, { interactionPolicy } from 'oidc-provider';

function options(argv) {
  const out = { redirectUris: [] };
  for (let i = 0; i < argv.length; i += 2) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (name === '--port') out.port = Number(value);
    else if (name === '--client-id') out.clientId = value;
    else if (name === '--client-secret') out.clientSecret = value;
    else if (name === '--redirect-uri') out.redirectUris.push(value);
    else throw new Error(`unknown option ${name}`);
  }
  if (out.port === undefined || Number.isNaN(out.port) || !out.clientId || !out.clientSecret || out.redirectUris.length === 0) {
    throw new Error('usage: local-op.mjs --port P --client-id ID --client-secret S --redirect-uri URI');
  }
  return out;
}

const opts = options(process.argv.slice(2));
const accounts = new Map();
const signing = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

// Every sign-in asks who signs in, even with a provider session from an earlier one: the tests
// and the demo page sign in as someone else each time.
const policy = interactionPolicy.base();
policy.get('login').checks.add(new interactionPolicy.Check(
  'local_op_asks_every_time', 'the local provider asks who signs in every time',
  // Not again on the resume right after this interaction's own login.
  (ctx) => (ctx.oidc.result && ctx.oidc.result.login
    ? interactionPolicy.Check.NO_NEED_TO_PROMPT
    : interactionPolicy.Check.REQUEST_PROMPT),
));

function startProvider(issuer) {
  const provider = new Provider(issuer, {
    clients: [{
      client_id: opts.clientId,
      client_secret: opts.clientSecret,
      redirect_uris: opts.redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: [{ ...signing, use: 'sig', alg: 'RS256', kid: 'local-op-rs256' }] },
    cookies: { keys: [createHash('sha256').update(`${opts.clientSecret}:cookies`).digest('hex')] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // The ID token carries the scopes' claims (email), as Google's does.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    interactions: { policy, url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx, sub) => {
      const account = accounts.get(sub);
      return account && { accountId: sub, claims: async () => ({ sub, ...account }) };
    },
  });
  provider.proxy = false;
  return provider;
}

const form = (uid) => `<!doctype html><meta charset="utf-8"><title>Local provider</title>
<h1>Local OpenID provider</h1><p>Sign in as anyone: this provider exists for local runs.</p>
<form method="get" action="/interaction/${uid}">
<label>Email <input name="email" type="email" required value="ada@example.com"></label>
<label><input name="email_verified" type="checkbox" value="true" checked> the provider verified it</label>
<button type="submit">Continue</button></form>`;

async function interaction(provider, req, res, uid, query) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  const email = query.get('email');
  if (!email) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(form(uid));
    return;
  }
  const sub = query.get('sub') || `local-${createHash('sha256').update(email).digest('hex').slice(0, 16)}`;
  accounts.set(sub, {
    email,
    email_verified: query.get('email_verified') === 'true',
    name: query.get('name') || email.split('@')[0],
  });
  const grant = new provider.Grant({ accountId: sub, clientId: details.params.client_id });
  grant.addOIDCScope(String(details.params.scope));
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { login: { accountId: sub }, consent: { grantId } }, { mergeWithLastSubmission: false });
}

// The issuer names the port, so the provider is built once the server holds one.
let serve = (_req, res) => { res.writeHead(503); res.end(); };
const server = createServer((req, res) => serve(req, res));
server.listen(opts.port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = startProvider(issuer);
  const callback = provider.callback();
  serve = (req, res) => {
    const url = new URL(req.url, issuer);
    const match = url.pathname.match(/^\/interaction\/([\w-]+)$/);
    if (match) {
      interaction(provider, req, res, match[1], url.searchParams).catch((error) => {
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end(String(error && error.message));
      });
      return;
    }
    callback(req, res);
  };
  console.log(`local-op listening on ${issuer}`);
});
