// The page a password-reset mail links to: /reset-password#token=…
"use strict";

const token = takeLinkToken();
const form = document.getElementById("reset");
const status = document.getElementById("status");

if (token) {
  form.hidden = false;
} else {
  status.textContent = "This page needs the link from the reset mail. Ask for a new one on the demo page.";
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const fields = new FormData(form);
  if (fields.get("newPassword") !== fields.get("repeat")) {
    status.textContent = "The two passwords differ.";
    return;
  }
  const button = form.querySelector("button");
  button.disabled = true; // one request per link: a second would find the token used
  const response = await auth.resetPassword(token, fields.get("newPassword"));
  button.disabled = false;
  if (response.ok) {
    form.reset();
    form.hidden = true;
    status.textContent = "Your password is changed, and every session is signed out. Log in with the new password.";
  } else {
    status.textContent = `${await problem(response)}.`;
  }
});
