// How a single-page app uses jwt-auth. The access token is kept in a variable, never in
// localStorage or a readable cookie; the refresh token is an HttpOnly cookie (path /auth) the
// browser sends to /auth/refresh and /auth/logout by itself.
"use strict";

const auth = (() => {
  let accessToken = null;
  let refreshing = null; // the one refresh in flight, shared by every caller
  // A login's second step: the challenge token of a right password for an account with MFA.
  // In memory only, like the access token; it is single-use and lives minutes.
  let mfaToken = null;

  function send(path, method, body) {
    return fetch(path, {
      method,
      credentials: "same-origin",
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
  }
  const post = (path, body) => send(path, "POST", body);

  async function signIn(path, body) {
    const response = await post(path, body);
    const json = await response.json();
    if (response.ok && json.mfaRequired) {
      mfaToken = json.mfaToken;
    } else if (response.ok) {
      accessToken = json.accessToken;
      mfaToken = null;
    }
    return { response, json };
  }

  // `{code}` or `{recoveryCode}`, with a fresh access token in the answer: the second login
  // step, or step-up in this session.
  async function takeAccessToken(response) {
    const json = await response.clone().json().catch(() => ({}));
    if (response.ok && json.accessToken) accessToken = json.accessToken;
    return response;
  }

  // A rotated refresh token may be presented once; two refreshes at once would present it twice.
  // Every caller that needs a fresh access token awaits the same promise.
  function refresh() {
    if (!refreshing) {
      refreshing = (async () => {
        try {
          const response = await post("/auth/refresh");
          if (!response.ok) {
            accessToken = null;
            return false;
          }
          accessToken = (await response.json()).accessToken;
          return true;
        } finally {
          refreshing = null;
        }
      })();
    }
    return refreshing;
  }

  // A 401 that is about the password or code typed, not the access token: refreshing would
  // not help, and a retry would count as a second failed attempt.
  async function wrongPassword(response) {
    try {
      const { code } = await response.clone().json();
      return code === "INVALID_CREDENTIALS" || code === "INVALID_MFA_CODE";
    } catch {
      return false;
    }
  }

  // Calls the API with the access token; on a 401 for the token, refreshes once and retries.
  async function call(path, options = {}) {
    const { json, ...rest } = options;
    const request = () =>
      fetch(path, {
        ...rest,
        body: json === undefined ? rest.body : JSON.stringify(json),
        headers: {
          ...(rest.headers || {}),
          ...(json === undefined ? {} : { "Content-Type": "application/json" }),
          ...(accessToken ? { Authorization: `Bearer ${accessToken}` } : {}),
        },
      });
    let response = await request();
    if (response.status === 401 && !(await wrongPassword(response)) && (await refresh())) {
      response = await request();
    }
    return response;
  }

  // The calls that end this session on the server end it here too.
  async function ending(response) {
    if (response.ok) accessToken = null;
    return response;
  }

  return {
    register: (name, email, password) => signIn("/auth/register", { name, email, password }),
    // Confirm-first mode: the mailed link's token and the sign-up's password; signs in.
    confirmSignup: (token, password) => signIn("/auth/register/confirm", { token, password }),
    login: (email, password) => signIn("/auth/login", { email, password }),
    refresh,
    call,
    signedIn: () => accessToken !== null,
    async logout() {
      const response = await post("/auth/logout");
      accessToken = null;
      return response;
    },
    async logoutEverywhere() {
      const response = await call("/auth/logout-all", { method: "POST" });
      accessToken = null;
      return response;
    },
    me: () => call("/me"),
    // Sign-in through identity providers: the configured ones, a full-page navigation to one
    // (the callback sets the refresh cookie and comes back here), and what the callback put in
    // this page's fragment: `#mfa=<token>` (the second step), `#error=<code>`, `#linked=<id>`.
    // The fragment is read once and removed from the address bar and history.
    providers: () => fetch("/auth/oauth/providers", { credentials: "same-origin" }),
    signInWith(provider) {
      const redirect = encodeURIComponent(location.pathname);
      location.assign(`/auth/oauth/${encodeURIComponent(provider)}/start?redirect=${redirect}`);
    },
    takeFederatedAnswer() {
      const fragment = new URLSearchParams(location.hash.slice(1));
      const answer = {
        mfa: fragment.get("mfa"),
        error: fragment.get("error"),
        linked: fragment.get("linked"),
      };
      if (answer.mfa || answer.error || answer.linked) history.replaceState(null, "", location.pathname);
      if (answer.mfa) mfaToken = answer.mfa;
      return answer;
    },
    async linkProvider(provider) {
      const response = await call(`/auth/oauth/${encodeURIComponent(provider)}/link`, {
        method: "POST",
        json: { redirect: location.pathname },
      });
      if (response.ok) location.assign((await response.clone().json()).authorizationUrl);
      return response;
    },
    identities: () => call("/auth/identities"),
    unlinkIdentity: (id) => call(`/auth/identities/${encodeURIComponent(id)}`, { method: "DELETE" }),
    // Two-factor authentication. `mfaPending` says a login waits for its second step.
    mfaPending: () => mfaToken !== null,
    async verifySecondFactor(factor) {
      const response = await signIn("/auth/mfa/verify", { mfaToken, ...factor });
      // A spent or expired challenge cannot be retried: the login starts over.
      if (response.response.status === 429) mfaToken = null;
      return response;
    },
    mfaStatus: () => call("/auth/mfa"),
    enrollTotp: () => call("/auth/mfa/totp/enroll", { method: "POST", json: {} }),
    // The answer carries the recovery codes and this session's new, aal2 access token.
    confirmTotp: async (code) =>
      takeAccessToken(await call("/auth/mfa/totp/confirm", { method: "POST", json: { code } })),
    newRecoveryCodes: () => call("/auth/mfa/recovery-codes", { method: "POST", json: {} }),
    removeTotp: (factor) => call("/auth/mfa/totp", { method: "DELETE", json: factor }),
    // Step-up: the second factor again, in this session (no mfaToken).
    stepUp: async (factor) =>
      takeAccessToken(await call("/auth/mfa/verify", { method: "POST", json: factor })),
    // Links from the mail. A reset needs only its token.
    forgotPassword: (email) => post("/auth/password/forgot", { email }),
    resetPassword: (token, newPassword) => post("/auth/password/reset", { token, newPassword }),
    // A verification also needs the account's owner: this browser's session (its refresh cookie
    // goes along by itself) or, without one (401 PASSWORD_REQUIRED), the account's password. No
    // `password` sends `{token}` alone. Sent once, never retried: a wrong password counts as a
    // failed login.
    verifyEmail: (token, password) => post("/auth/email/verify", { token, password }),
    // The account, as its signed-in owner.
    resendVerification: () => call("/auth/email/verify/resend", { method: "POST" }),
    changePassword: (currentPassword, newPassword) =>
      call("/auth/password/change", { method: "POST", json: { currentPassword, newPassword } }),
    // One page of the sessions list, `{sessions, next}`: `limit` of them (1 to 100; the server's
    // 20 when left out), the calling session first on the first page. `cursor` is the `next` of
    // the page before (none for the first page); `next` is null on the last page.
    sessions({ limit, cursor } = {}) {
      const query = new URLSearchParams();
      if (limit !== undefined) query.set("limit", String(limit));
      if (cursor !== undefined && cursor !== null) query.set("cursor", cursor);
      const search = query.toString();
      return call(search ? `/auth/sessions?${search}` : "/auth/sessions");
    },
    revokeSession: (id) => call(`/auth/sessions/${encodeURIComponent(id)}`, { method: "DELETE" }),
    deleteAccount: async (password) =>
      ending(await call("/auth/account", { method: "DELETE", json: { password } })),
  };
})();

// What a failed answer says, for the person in front of the page.
async function problem(response) {
  try {
    const body = await response.json();
    return body.error || `HTTP ${response.status}`;
  } catch {
    return `HTTP ${response.status}`;
  }
}

// The machine-readable `code` of a failed answer (e.g. "PASSWORD_REQUIRED"), read from a copy so
// that `problem` can still read the answer.
async function problemCode(response) {
  try {
    return (await response.clone().json()).code;
  } catch {
    return undefined;
  }
}

// The link's token, taken out of the address bar (and so out of history and any Referer) once read.
// Mailed links carry the token in the fragment (#token=…), which the browser never sends to a
// server. Links mailed before that change carried it in the query; they still work until they
// expire. Either way the token leaves the address bar and the history entry at once.
function takeLinkToken() {
  const token =
    new URLSearchParams(location.hash.slice(1)).get("token") ??
    new URLSearchParams(location.search).get("token");
  if (token !== null) history.replaceState(null, "", location.pathname);
  // Another link opened in this tab differs only in its fragment, which browsers treat as the
  // same page: start the page over for it.
  window.addEventListener("hashchange", () => location.reload(), { once: true });
  return token;
}

window.auth = auth; // for the browser test and the curious
