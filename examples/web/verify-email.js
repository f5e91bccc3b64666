// The page a verification mail links to: /verify-email#token=…
"use strict";

const token = takeLinkToken();
const button = document.getElementById("verify");
const form = document.getElementById("password-form");
const password = document.getElementById("verify-password");
const submit = document.getElementById("verify-with-password");
const status = document.getElementById("status");

if (token) {
  button.hidden = false;
} else {
  status.textContent = "This page needs the link from the verification mail. Signed in, the demo page sends a new one.";
}

function verified() {
  button.hidden = true;
  form.reset();
  form.hidden = true;
  status.textContent = "Your email address is verified.";
}

// Signed in on this browser, the refresh cookie is the owner's proof and the click is enough.
button.addEventListener("click", async () => {
  button.disabled = true;
  const response = await auth.verifyEmail(token);
  if (response.ok) {
    verified();
  } else if ((await problemCode(response)) === "PASSWORD_REQUIRED") {
    // Nothing changed: the same token goes again, with the password, once the user types it.
    button.hidden = true;
    form.hidden = false;
    status.textContent = "";
    password.focus();
  } else {
    button.disabled = false;
    status.textContent = `${await problem(response)}.`;
  }
});

// One request per submission, never retried: a wrong password counts as a failed login.
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (submit.disabled) return;
  submit.disabled = true;
  const response = await auth.verifyEmail(token, password.value);
  if (response.ok) {
    submit.disabled = false;
    verified();
  } else {
    const message = await problem(response);
    password.value = "";
    submit.disabled = false;
    status.textContent = `${message}.`;
    password.focus();
  }
});
