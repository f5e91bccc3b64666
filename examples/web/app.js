// The demo page: sign in and out, and manage the account as its signed-in owner. The client
// itself (`auth`) is in auth.js.
"use strict";

const $ = (id) => document.getElementById(id);

function show(label, status, body) {
  $("output").textContent = `${label}: ${status}\n${typeof body === "string" ? body : JSON.stringify(body, null, 2)}`;
}

async function showResponse(label, response) {
  const text = await response.text();
  let body = text;
  try { body = JSON.parse(text); } catch { /* not JSON: show as is */ }
  show(label, response.status, body);
}

const when = (time) => new Date(time).toLocaleString();

// Every value comes from the server, and a user agent is whatever the client sent: text only,
// never HTML.
function cell(row, text) {
  row.insertCell().textContent = text;
}

async function loadProfile() {
  const response = await auth.me();
  if (!response.ok) return;
  const { user } = await response.json();
  $("whoami").textContent = `Signed in as ${user.name} <${user.email}>` +
    (user.emailVerified ? ", email address verified." : ".");
  $("unverified").hidden = user.emailVerified;
}

// The sessions list comes a page at a time: the server's 20, or `?sessions-per-page=N` (1 to
// 100) to see the paging with only a few sessions (the browser test does).
const sessionsPerPage = (() => {
  const asked = Number(new URLSearchParams(location.search).get("sessions-per-page"));
  return Number.isInteger(asked) && asked >= 1 && asked <= 100 ? asked : undefined;
})();
let sessionsCursor = null; // the `next` of the last page shown: where "Show more" goes on
let sessionsListing = 0; // which listing is on screen: a page of an older one is dropped

function sessionRow(rows, session) {
  const row = rows.insertRow();
  row.dataset.session = session.id;
  cell(row, session.userAgent || "unknown device");
  cell(row, session.ipAddress || "");
  cell(row, when(session.createdAt));
  cell(row, when(session.lastUsedAt));
  const action = row.insertCell();
  if (session.current) {
    action.textContent = "this device";
    row.classList.add("current");
    return;
  }
  const revoke = document.createElement("button");
  revoke.textContent = "Sign out";
  revoke.className = "revoke";
  revoke.addEventListener("click", async () => {
    await showResponse("DELETE /auth/sessions/{id}", await auth.revokeSession(session.id));
    await loadSessions();
  });
  action.append(revoke);
}

// Without `more`, lists the first page anew (the calling session first); with it, appends the
// page after the last one shown.
async function loadSessions(more = false) {
  const listing = more ? sessionsListing : ++sessionsListing;
  const response = await auth.sessions({
    limit: sessionsPerPage,
    cursor: more ? sessionsCursor : undefined,
  });
  if (listing !== sessionsListing) return;
  const rows = $("sessions").tBodies[0];
  if (!response.ok) {
    await showResponse("GET /auth/sessions", response);
    return;
  }
  const { sessions, next } = await response.json();
  if (listing !== sessionsListing) return;
  if (!more) rows.replaceChildren();
  for (const session of sessions) sessionRow(rows, session);
  sessionsCursor = next;
  $("more-sessions").hidden = next === null;
}

// Two-factor authentication: its state, enrolment with the QR code the server drew (an SVG,
// shown as an image: never inserted as markup), the recovery codes shown once, and removal.
async function loadMfa() {
  const response = await auth.mfaStatus();
  if (!response.ok) return;
  const { totp, recoveryCodesLeft } = await response.json();
  $("mfa-state").textContent = totp.enabled
    ? `On since ${when(totp.createdAt * 1000)}; ${recoveryCodesLeft} recovery codes left.`
    : "Off.";
  $("mfa-enroll").hidden = totp.enabled;
  $("mfa-manage").hidden = !totp.enabled;
}

function showRecoveryCodes(codes) {
  const list = $("recovery-code-list");
  list.replaceChildren(...codes.map((code) => {
    const item = document.createElement("li");
    item.textContent = code;
    return item;
  }));
  $("recovery-codes").hidden = false;
}

// Runs `action`; when it answers 403 MFA_REQUIRED, asks for the second factor again (step-up)
// and runs it once more.
async function withStepUp(action) {
  const response = await action();
  if (response.status !== 403 || (await problemCode(response)) !== "MFA_REQUIRED") return response;
  $("step-up").hidden = false;
  const code = await new Promise((resolve) => { stepUpWaiting = resolve; });
  $("step-up").hidden = true;
  const stepped = await auth.stepUp({ code });
  if (!stepped.ok) return stepped;
  return action();
}
let stepUpWaiting = null;

function render() {
  const signedIn = auth.signedIn();
  $("signed-in").hidden = !signedIn;
  $("signed-out").hidden = signedIn;
  $("mfa-step").hidden = signedIn || !auth.mfaPending();
  $("status").textContent = signedIn
    ? "Signed in."
    : auth.mfaPending() ? "Second step: enter your code." : "Signed out.";
  if (signedIn) {
    loadProfile();
    loadSessions();
    loadMfa();
    loadIdentities();
  } else {
    $("whoami").textContent = "";
    sessionsListing++; // a page still on its way belongs to the session that ended
    $("sessions").tBodies[0].replaceChildren();
    $("more-sessions").hidden = true;
  }
}

function onSubmit(id, handler) {
  $(id).addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    await handler(new FormData(form), form);
  });
}

onSubmit("register", async (form) => {
  const { response, json } = await auth.register(form.get("name"), form.get("email"), form.get("password"));
  show("register", response.status, json);
  render();
});

onSubmit("login", async (form) => {
  const { response, json } = await auth.login(form.get("email"), form.get("password"));
  show("login", response.status, json);
  render();
});

async function secondStep(label, factor, element) {
  const { response, json } = await auth.verifySecondFactor(factor);
  show(label, response.status, json);
  if (response.ok) element.reset();
  render();
}
onSubmit("mfa-code", (form, element) => secondStep("second step", { code: form.get("code") }, element));
onSubmit("mfa-recovery", (form, element) =>
  secondStep("second step", { recoveryCode: form.get("recoveryCode") }, element));

$("mfa-enroll").addEventListener("click", async () => {
  const response = await withStepUp(() => auth.enrollTotp());
  if (!response.ok) {
    show("enroll", response.status, await problem(response));
    return;
  }
  const { secret, qrCodeSvg } = await response.json();
  $("mfa-qr").src = `data:image/svg+xml;base64,${btoa(qrCodeSvg)}`;
  $("mfa-secret").textContent = secret;
  $("mfa-enrolment").hidden = false;
  show("enroll", response.status, "Scan the code, then enter the code the app shows.");
});
onSubmit("mfa-confirm", async (form, element) => {
  const response = await auth.confirmTotp(form.get("code"));
  if (!response.ok) {
    show("confirm", response.status, await problem(response));
    return;
  }
  const { recoveryCodes } = await response.json();
  element.reset();
  $("mfa-enrolment").hidden = true;
  $("mfa-qr").removeAttribute("src");
  $("mfa-secret").textContent = "";
  showRecoveryCodes(recoveryCodes);
  show("confirm", response.status, "Two-factor authentication is on. Every other session is signed out.");
  await loadMfa();
  await loadSessions();
});
$("recovery-codes-saved").addEventListener("click", () => {
  $("recovery-code-list").replaceChildren();
  $("recovery-codes").hidden = true;
});
$("mfa-new-codes").addEventListener("click", async () => {
  const response = await withStepUp(() => auth.newRecoveryCodes());
  if (!response.ok) {
    show("new recovery codes", response.status, await problem(response));
    return;
  }
  showRecoveryCodes((await response.json()).recoveryCodes);
  show("new recovery codes", response.status, "New recovery codes; the old ones no longer work.");
  await loadMfa();
});
onSubmit("mfa-remove", async (form, element) => {
  const typed = form.get("code").trim();
  const factor = /^[0-9 ]+$/.test(typed) ? { code: typed } : { recoveryCode: typed };
  const response = await withStepUp(() => auth.removeTotp(factor));
  if (response.ok) element.reset();
  show("turn off", response.status, response.ok ? "Two-factor authentication is off." : await problem(response));
  await loadMfa();
});
onSubmit("step-up", (form, element) => {
  const resolve = stepUpWaiting;
  stepUpWaiting = null;
  element.reset();
  if (resolve) resolve(form.get("code"));
});

onSubmit("forgot", async (form, element) => {
  const response = await auth.forgotPassword(form.get("email"));
  if (response.ok) {
    element.reset();
    show("forgot", response.status, "If an account has that address, a reset link is on its way.");
  } else {
    show("forgot", response.status, await problem(response));
  }
});

onSubmit("change-password", async (form, element) => {
  const response = await withStepUp(() =>
    auth.changePassword(form.get("currentPassword"), form.get("newPassword")));
  if (response.ok) {
    element.reset();
    show("change password", response.status, "Password changed. Every other session is signed out.");
    await loadSessions();
  } else {
    show("change password", response.status, await problem(response));
  }
});

onSubmit("delete-account", async (form, element) => {
  const response = await withStepUp(() => auth.deleteAccount(form.get("password")));
  if (response.ok) {
    element.reset();
    show("delete account", response.status, "Your account is deleted.");
    render();
  } else {
    show("delete account", response.status, await problem(response));
  }
});

$("resend").addEventListener("click", async () => {
  const response = await auth.resendVerification();
  show("resend", response.status, response.ok ? "A new link is on its way." : await problem(response));
});
$("more-sessions").addEventListener("click", async () => {
  const more = $("more-sessions");
  more.disabled = true;
  try {
    await loadSessions(true);
  } finally {
    more.disabled = false;
  }
});
$("me").addEventListener("click", async () => showResponse("GET /me", await auth.me()));
$("logout").addEventListener("click", async () => {
  await showResponse("logout", await auth.logout());
  render();
});
$("logout-all").addEventListener("click", async () => {
  await showResponse("logout everywhere", await auth.logoutEverywhere());
  render();
});

// The identity providers this API offers: a button each, to sign in (signed out) or to link
// (signed in).
let providers = [];
async function loadProviders() {
  const response = await auth.providers();
  providers = response.ok ? (await response.json()).providers : [];
  $("federated").hidden = providers.length === 0;
  $("provider-buttons").replaceChildren(...providers.map((provider) => {
    const button = document.createElement("button");
    button.textContent = `Sign in with ${provider.label}`;
    button.dataset.provider = provider.id;
    button.addEventListener("click", () => auth.signInWith(provider.id));
    return button;
  }));
}

async function loadIdentities() {
  $("identities-settings").hidden = providers.length === 0;
  if (providers.length === 0) return;
  const response = await auth.identities();
  if (!response.ok) return;
  const { identities } = await response.json();
  $("identity-list").replaceChildren(...identities.map((identity) => {
    const item = document.createElement("li");
    item.textContent = `${identity.provider} (${identity.email ?? "no address"}) `;
    const unlink = document.createElement("button");
    unlink.textContent = "Unlink";
    unlink.addEventListener("click", async () => {
      await showResponse("unlink", await withStepUp(() => auth.unlinkIdentity(identity.id)));
      loadIdentities();
    });
    item.append(unlink);
    return item;
  }));
  $("link-buttons").replaceChildren(...providers.map((provider) => {
    const button = document.createElement("button");
    button.textContent = `Link ${provider.label}`;
    button.addEventListener("click", async () => {
      const response = await withStepUp(() => auth.linkProvider(provider.id));
      if (!response.ok) showResponse("link", response);
    });
    return button;
  }));
}

// What a provider's callback said, in this page's fragment.
const federated = auth.takeFederatedAnswer();
if (federated.error) show("sign in with a provider", 0, { error: federated.error });
if (federated.linked) show("link", 0, { linked: federated.linked });

// A reload loses the in-memory access token; the refresh cookie brings the session back.
loadProviders().finally(() => auth.refresh().then(render));
