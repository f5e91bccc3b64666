// The page a verification mail links to: /verify-email?token=…
"use strict";

const token = takeLinkToken();
const button = document.getElementById("verify");
const status = document.getElementById("status");

if (token) {
  button.hidden = false;
} else {
  status.textContent = "This page needs the link from the verification mail. Signed in, the demo page sends a new one.";
}

button.addEventListener("click", async () => {
  button.disabled = true;
  const response = await auth.verifyEmail(token);
  if (response.ok) {
    button.hidden = true;
    status.textContent = "Your email address is verified.";
  } else {
    button.disabled = false;
    status.textContent = `${await problem(response)}.`;
  }
});
