// Passkeys (WebAuthn) for the account security page and the second-factor sign-in.
// Served from /static so the Content-Security-Policy can keep "script-src 'self'".
// A form marked data-passkey="register" or "authenticate" asks the server for options
// (the challenge stays server-side), hands them to navigator.credentials, and posts the
// browser's answer back as a hidden field. Without JavaScript the other forms still work.
"use strict";

(function () {
  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var raw = atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function credentialsIn(list) {
    return (list || []).map(function (item) {
      return { type: item.type, id: toBytes(item.id), transports: item.transports };
    });
  }

  function creationOptions(options) {
    options.challenge = toBytes(options.challenge);
    options.user.id = toBytes(options.user.id);
    options.excludeCredentials = credentialsIn(options.excludeCredentials);
    return { publicKey: options };
  }

  function requestOptions(options) {
    options.challenge = toBytes(options.challenge);
    options.allowCredentials = credentialsIn(options.allowCredentials);
    return { publicKey: options };
  }

  function answer(credential) {
    var response = credential.response;
    var out = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      response: { clientDataJSON: toText(response.clientDataJSON) }
    };
    if (response.attestationObject) {
      out.response.attestationObject = toText(response.attestationObject);
      if (response.getTransports) { out.response.transports = response.getTransports(); }
    } else {
      out.response.authenticatorData = toText(response.authenticatorData);
      out.response.signature = toText(response.signature);
      if (response.userHandle) { out.response.userHandle = toText(response.userHandle); }
    }
    return JSON.stringify(out);
  }

  function showError(form, text) {
    var slot = form.querySelector("[data-passkey-error]");
    if (slot) { slot.textContent = text; slot.hidden = false; }
  }

  function start(form) {
    var register = form.dataset.passkey === "register";
    var body = new URLSearchParams();
    body.set("csrf_token", form.elements.csrf_token.value);
    fetch(form.dataset.options, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (reply) {
        if (!reply.ok) { throw new Error(form.dataset.failed); }
        return reply.json();
      })
      .then(function (options) {
        return register
          ? navigator.credentials.create(creationOptions(options))
          : navigator.credentials.get(requestOptions(options));
      })
      .then(function (credential) {
        form.elements.response.value = answer(credential);
        form.submit();
      })
      .catch(function () { showError(form, form.dataset.failed); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var forms = document.querySelectorAll("form[data-passkey]");
    for (var i = 0; i < forms.length; i++) {
      var form = forms[i];
      if (!window.PublicKeyCredential) {
        showError(form, form.dataset.unsupported);
        continue;
      }
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        start(event.currentTarget);
      });
    }
  });
})();
