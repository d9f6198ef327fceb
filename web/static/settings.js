// Settings page: copy a new token, confirm before revoking, and the Caller
// ID section. The token forms work without this script (the token is
// selectable text and the forms post as is); the Caller ID section talks
// to /api/caller-id and follows a verification live by polling it.
(function () {
  "use strict";

  var box = document.querySelector("[data-new-token]");
  if (box) {
    var field = box.querySelector("[data-token-value]");
    var button = box.querySelector("[data-copy-token]");
    var status = box.querySelector("[data-copy-status]");
    field.addEventListener("focus", function () { field.select(); });
    if (navigator.clipboard && window.isSecureContext) {
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(field.value).then(function () {
          status.textContent = "Copied. Paste it where it is needed, then leave this page.";
        }, function () {
          field.select();
          status.textContent = "Could not copy: the token is selected, copy it yourself.";
        });
      });
    }
  }

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (!window.confirm(form.getAttribute("data-confirm"))) ev.preventDefault();
    });
  });

  var cid = document.querySelector("[data-callerid]");
  if (cid && !cid.hasAttribute("data-company")) callerID(cid);

  function callerID(root) {
    function $(sel) { return root.querySelector(sel); }
    var statusEl = $("[data-callerid-status]");
    var errorEl = $("[data-callerid-error]");
    var shows = $("[data-callerid-shows]");
    var kind = $("[data-callerid-kind]");
    var requestForm = $("[data-callerid-request]");
    var confirmForm = $("[data-callerid-confirm]");
    var keypad = $("[data-callerid-keypad]");
    var validationCode = $("[data-callerid-validation-code]");
    var codeInput = $("[data-callerid-code]");
    var removeButton = $("[data-callerid-remove]");

    // Each state of the CallerIDVerification workflow, in words.
    var WORDS = {
      checking: "Checking your account…",
      awaiting_code: "Code sent: we texted a code to {n}. Enter it below.",
      awaiting_call: "Calling your phone: Twilio is calling {n}.",
      verified: "Verified: your calls now show {n}.",
      code_expired: "Code expired: the code for {n} was not entered in time. Request a new one.",
      too_many_attempts: "Too many attempts: too many wrong codes for {n}. Request a new one.",
      call_expired: "The call to {n} was not completed in time. Request again.",
      validation_failed: "Validation failed: the call to {n} failed (a wrong keypad code, or no answer). Request again.",
      refused: "{n} cannot be verified now.",
      removed: "Removed: your calls no longer show {n}."
    };
    var LIVE = { checking: true, awaiting_code: true, awaiting_call: true };
    var GOOD = { verified: true, removed: true };
    var pollTimer = null;

    var api = window.Mobayilo.api;

    function showError(r) {
      errorEl.replaceChildren();
      if (!r) return;
      var e = r.body && r.body.error;
      var msg = e && e.message ? e.message : "Something went wrong (" + r.status + "). Please try again.";
      if (r.status === 429) msg = "Too many tries in a row. Wait a while and try again.";
      if (r.status === 401) msg = "Your session has ended. Sign in again.";
      errorEl.appendChild(document.createTextNode(msg + " "));
      if (e && e.code === "balance_too_low") {
        var a = document.createElement("a");
        a.href = "/credits";
        a.textContent = "Top up";
        a.setAttribute("data-topup-link", "");
        errorEl.appendChild(a);
      }
      if (e && e.code) errorEl.setAttribute("data-code", e.code);
    }

    function setStatus(v) {
      statusEl.className = "callerid-progress";
      statusEl.removeAttribute("data-state");
      if (!v) { statusEl.textContent = ""; return; }
      var words = (v.state === "refused" && v.message) ? v.message : (WORDS[v.state] || v.message || v.state);
      if (v.state === "awaiting_call" && v.validation_code) {
        // Said here too, so a screen reader hears the code it must key in.
        words += " Key in " + v.validation_code + " on its keypad.";
      }
      if (v.state === "awaiting_code" && v.code_attempts > 0) {
        words += " " + v.code_attempts + (v.code_attempts === 1 ? " wrong code" : " wrong codes") + " so far.";
      }
      statusEl.textContent = words.replace("{n}", v.number);
      statusEl.setAttribute("data-state", v.state);
      if (GOOD[v.state]) statusEl.classList.add("is-ok");
      else if (!LIVE[v.state]) statusEl.classList.add("is-bad");
    }

    // render shows the latest verification (the API lists the most recently
    // changed first) and the step it waits for.
    function render(st) {
      var latest = st.caller_ids && st.caller_ids.length ? st.caller_ids[0] : null;
      shows.textContent = st.caller_id;
      kind.textContent = st.verified ? "(your verified number)" : "(Mobayilo's number)";
      setStatus(latest);
      var state = latest ? latest.state : "";
      confirmForm.hidden = state !== "awaiting_code";
      keypad.hidden = !(state === "awaiting_call" && latest.validation_code);
      validationCode.textContent = keypad.hidden ? "" : latest.validation_code;
      requestForm.hidden = !!LIVE[state];
      removeButton.hidden = !latest;
      if (latest) {
        removeButton.textContent = state === "verified" ? "Remove caller ID" : (LIVE[state] ? "Cancel this verification" : "Remove " + latest.number);
        removeButton.setAttribute("aria-label", (LIVE[state] ? "Cancel the verification of " : "Remove caller ID ") + latest.number);
      }
      root.setAttribute("data-state", state || "none");
      clearTimeout(pollTimer);
      if (LIVE[state]) pollTimer = setTimeout(refresh, state === "awaiting_call" ? 1000 : 2000);
    }

    function refresh() {
      return api("GET", "/api/caller-id").then(function (r) {
        if (r.ok) { render(r.body); return; }
        // Keep following a live verification through a blip.
        clearTimeout(pollTimer);
        if (r.status !== 401) pollTimer = setTimeout(refresh, 5000);
        else showError(r);
      });
    }

    function busy(form, on) {
      form.querySelectorAll("button, input, select").forEach(function (el) { el.disabled = on; });
    }

    requestForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      showError(null);
      var number = $("[data-callerid-number]").value.trim();
      if (!number) { showError({ status: 400, body: { error: { message: "Enter your phone number." } } }); return; }
      busy(requestForm, true);
      statusEl.textContent = "Sending a code…";
      api("POST", "/api/caller-id", { number: number, country: $("[data-callerid-country]").value }).then(function (r) {
        busy(requestForm, false);
        if (!r.ok) { setStatus(null); showError(r); return; }
        codeInput.value = "";
        return refresh().then(function () { if (!confirmForm.hidden) codeInput.focus(); });
      });
    });

    confirmForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      showError(null);
      var code = codeInput.value.replace(/\s/g, "");
      if (!code) { showError({ status: 400, body: { error: { message: "Enter the code from the SMS." } } }); return; }
      busy(confirmForm, true);
      api("POST", "/api/caller-id/confirm", { code: code }).then(function (r) {
        busy(confirmForm, false);
        if (!r.ok) { showError(r); return refresh(); }
        if (r.body && r.body.approved === false) {
          codeInput.value = "";
          codeInput.focus();
          showError({ status: 422, body: { error: { message: "That code is not right." } } });
        }
        return refresh();
      });
    });

    removeButton.addEventListener("click", function () {
      showError(null);
      removeButton.disabled = true;
      api("DELETE", "/api/caller-id").then(function (r) {
        removeButton.disabled = false;
        if (!r.ok && r.status !== 404) { showError(r); return; }
        return refresh().then(function () {
          if (r.ok && r.body.removed.length) {
            statusEl.className = "callerid-progress is-ok";
            statusEl.setAttribute("data-state", "removed");
            statusEl.textContent = "Removed " + r.body.removed.join(", ") + ": your calls show " + r.body.caller_id + " again.";
          }
        });
      });
    });

    refresh();
  }
})();
