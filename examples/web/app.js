// How a single-page app uses jwt-auth. The access token is kept in a variable, never in
// localStorage or a readable cookie; the refresh token is an HttpOnly cookie (path /auth) the
// browser sends to /auth/refresh and /auth/logout by itself.
"use strict";

const auth = (() => {
  let accessToken = null;
  let refreshing = null; // the one refresh in flight, shared by every caller

  async function post(path, body) {
    return fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
  }

  async function signIn(path, body) {
    const response = await post(path, body);
    const json = await response.json();
    if (response.ok) accessToken = json.accessToken;
    return { response, json };
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

  // Calls the API with the access token; on 401, refreshes once and retries.
  async function call(path, options = {}) {
    const send = () =>
      fetch(path, {
        ...options,
        headers: { ...(options.headers || {}), ...(accessToken ? { Authorization: `Bearer ${accessToken}` } : {}) },
      });
    let response = await send();
    if (response.status === 401 && (await refresh())) response = await send();
    return response;
  }

  return {
    register: (name, email, password) => signIn("/auth/register", { name, email, password }),
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
  };
})();

const $ = (id) => document.getElementById(id);

function show(label, status, body) {
  $("output").textContent = `${label}: ${status}\n${typeof body === "string" ? body : JSON.stringify(body, null, 2)}`;
}

function render() {
  $("signed-in").hidden = !auth.signedIn();
  $("signed-out").hidden = auth.signedIn();
  $("status").textContent = auth.signedIn() ? "Signed in." : "Signed out.";
}

async function showResponse(label, response) {
  const text = await response.text();
  let body = text;
  try { body = JSON.parse(text); } catch { /* not JSON: show as is */ }
  show(label, response.status, body);
}

$("register").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const { response, json } = await auth.register(form.get("name"), form.get("email"), form.get("password"));
  show("register", response.status, json);
  render();
});

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const { response, json } = await auth.login(form.get("email"), form.get("password"));
  show("login", response.status, json);
  render();
});

$("me").addEventListener("click", async () => showResponse("GET /me", await auth.call("/me")));
$("logout").addEventListener("click", async () => {
  await showResponse("logout", await auth.logout());
  render();
});
$("logout-all").addEventListener("click", async () => {
  await showResponse("logout everywhere", await auth.logoutEverywhere());
  render();
});

// A reload loses the in-memory access token; the refresh cookie brings the session back.
auth.refresh().then(render);
window.auth = auth; // for the browser test and the curious
