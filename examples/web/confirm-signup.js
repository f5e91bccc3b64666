// The page a confirm-first sign-up mail links to: /confirm-signup#token=…
"use strict";

const token = takeLinkToken();
const form = document.getElementById("confirm");
const status = document.getElementById("status");

if (token) {
  form.hidden = false;
} else {
  status.textContent = "This page needs the link from the sign-up mail.";
}

// One request per submission, never retried: a wrong password counts against this address.
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = form.querySelector("button");
  if (button.disabled) return;
  button.disabled = true;
  const fields = new FormData(form);
  const { response, json } = await auth.confirmSignup(token, fields.get("password"));
  button.disabled = false;
  if (response.ok) {
    form.reset();
    form.hidden = true;
    status.textContent = "Your account is ready, and you are signed in on this browser.";
  } else {
    form.querySelector("input").value = "";
    status.textContent = `${json.error || `HTTP ${response.status}`}.`;
  }
});
