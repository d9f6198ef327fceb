// The dialer ("/" for a signed-in user). Plain JavaScript under the strict
// CSP. The server authorises each call (POST /api/calls) and reports its
// status over server-sent events (GET /api/calls/:id/events, read from the
// database so any API process serves them); the audio goes through the
// Twilio Voice SDK when live, or the sandbox carrier's connect/hangup
// doors in sandbox mode, where no audio exists.
(function () {
  "use strict";

  var root = document.querySelector("[data-dialer]");
  if (!root) return;

  function $(sel) { return root.querySelector(sel); }

  var sandbox = root.getAttribute("data-sandbox") === "true";
  var company = root.getAttribute("data-audience") === "company";
  var available = Number(root.getAttribute("data-available-cents")) || 0;

  var form = $("[data-dial-form]");
  var number = $("[data-dial-number]");
  var country = $("[data-dial-country]");
  var quote = $("[data-quote]");
  var errorBox = $("[data-dial-error]");
  var callButton = $("[data-call]");
  var incall = $("[data-incall]");
  var statusEl = $("[data-call-status]");
  var timerEl = $("[data-timer]");
  var costEl = $("[data-cost-so-far]");
  var priceEl = $("[data-call-price]");
  var muteButton = $("[data-mute]");
  var speakerButton = $("[data-speaker]");
  var output = $("[data-output]");
  var outputSelect = $("[data-output-select]");
  var hangupButton = $("[data-hangup]");
  var endBox = $("[data-call-end]");
  var controls = $("[data-controls]");

  // What a person reads for each state of the Call workflow.
  var LABELS = {
    authorized: "Calling…", dialing: "Calling…", ringing: "Ringing…", "in-progress": "In progress",
    completed: "Call ended", busy: "Busy", "no-answer": "No answer", failed: "Call failed",
    canceled: "Call canceled", expired: "Call not connected"
  };
  var FINAL = { completed: true, busy: true, "no-answer": true, failed: true, canceled: true, expired: true };

  // money shows int64 cents as the server's money.Format does ("$5.00"),
  // in integer arithmetic so no float rounding shows.
  function money(cents) {
    var abs = Math.abs(cents);
    return (cents < 0 ? "-" : "") + "$" + Math.floor(abs / 100) + "." + String(abs % 100).padStart(2, "0");
  }

  var price = money;

  function errorMessage(body, status) {
    var e = body && body.error;
    if (e && typeof e.message === "string" && e.message) return e.message;
    if (status === 429) return "Too many tries in a row. Wait a moment and try again.";
    if (status === 401) return "Your session has ended. Sign in again to call.";
    return "Something went wrong (" + status + "). Please try again.";
  }

  var api = window.Mobayilo.api;

  function showError(msg, topUp) {
    errorBox.replaceChildren();
    if (!msg) return;
    errorBox.appendChild(document.createTextNode(msg + " "));
    if (topUp) {
      var a = document.createElement("a");
      a.href = "/credits";
      a.textContent = "Top up";
      a.setAttribute("data-topup-link", "");
      errorBox.appendChild(a);
    }
  }

  // ---- Before the call: keypad, the number's price and minutes.

  var quoteSeq = 0;
  var quoteTimer = null;
  function requestQuote() {
    clearTimeout(quoteTimer);
    var n = number.value.trim();
    if (n.replace(/\D/g, "").length < 4) {
      quote.textContent = "";
      return;
    }
    quoteTimer = setTimeout(function () {
      var seq = ++quoteSeq;
      var q = new URLSearchParams({ phone_number: n });
      if (country.value) q.set("country", country.value);
      api("GET", "/api/rates/calculate?" + q.toString()).then(function (r) {
        if (seq !== quoteSeq) return;
        if (!r.ok) {
          quote.textContent = r.status === 400 ? errorMessage(r.body, r.status) : "";
          quote.removeAttribute("data-price-cents");
          return;
        }
        var cents = company ? r.body.company_cents_per_minute : r.body.individual_cents_per_minute;
        var minutes = cents > 0 ? Math.floor(available / cents) : 0;
        quote.setAttribute("data-price-cents", String(cents));
        quote.setAttribute("data-minutes", String(minutes));
        quote.textContent = (r.body.country ? r.body.country + " · " : "") + price(cents) + " per minute · about " +
          minutes + (minutes === 1 ? " minute" : " minutes") + " with your balance";
        if (minutes < 1) {
          var a = document.createElement("a");
          a.href = "/credits";
          a.textContent = "Top up to call";
          a.setAttribute("data-topup-link", "");
          quote.appendChild(document.createTextNode(" · "));
          quote.appendChild(a);
        }
      });
    }, 250);
  }

  function press(key) {
    var el = number;
    var start = el.selectionStart, end = el.selectionEnd;
    if (typeof start !== "number" || document.activeElement !== el) { start = end = el.value.length; }
    el.value = el.value.slice(0, start) + key + el.value.slice(end);
    requestQuote();
  }

  root.querySelectorAll("[data-key]").forEach(function (b) {
    var held = null;
    // Holding 0 types "+", as on a phone.
    b.addEventListener("pointerdown", function () {
      if (b.getAttribute("data-key") !== "0") return;
      held = setTimeout(function () { held = "plus"; press("+"); }, 550);
    });
    b.addEventListener("click", function () {
      if (held === "plus") { held = null; return; }
      clearTimeout(held);
      held = null;
      press(b.getAttribute("data-key"));
    });
  });
  $("[data-erase]").addEventListener("click", function () {
    number.value = number.value.slice(0, -1);
    requestQuote();
  });
  number.addEventListener("input", requestQuote);
  country.addEventListener("change", requestQuote);

  // ---- Recent numbers: one tap to redial.

  function loadRecent() {
    api("GET", "/api/calls/recent").then(function (r) {
      var list = $("[data-recent]");
      if (!r.ok || !r.body || !r.body.numbers) return;
      list.replaceChildren();
      r.body.numbers.forEach(function (n) {
        var li = document.createElement("li");
        var b = document.createElement("button");
        b.type = "button";
        b.className = "recent-number";
        b.setAttribute("data-redial", n.to);
        b.setAttribute("aria-label", "Call " + (n.to_national || n.to));
        b.textContent = n.to_national || n.to;
        var hint = document.createElement("span");
        hint.className = "hint";
        hint.textContent = n.to;
        b.appendChild(hint);
        b.addEventListener("click", function () {
          number.value = n.to;
          country.value = "";
          requestQuote();
          startCall();
        });
        li.appendChild(b);
        list.appendChild(li);
      });
      $("[data-recent-section]").hidden = r.body.numbers.length === 0;
    });
  }

  // ---- Live mode: the Voice SDK's Device, built from our token.

  var device = null;
  function setupDevice() {
    if (sandbox || !root.hasAttribute("data-voice-sdk")) return;
    if (!window.MobayiloVoice) {
      root.setAttribute("data-voice", "missing");
      showError("The calling library did not load. Reload the page to try again.");
      return;
    }
    api("GET", "/api/calls/token").then(function (r) {
      if (!r.ok) {
        root.setAttribute("data-voice", "no-token");
        showError(errorMessage(r.body, r.status), r.status === 403 && r.body && r.body.error && r.body.error.code === "insufficient_funds");
        return;
      }
      try {
        device = new window.MobayiloVoice.Device(r.body.token, { codecPreferences: ["opus", "pcmu"], closeProtection: true });
      } catch (e) {
        root.setAttribute("data-voice", "error");
        showError("Calling is unavailable in this browser: " + e.message);
        return;
      }
      root.setAttribute("data-voice", device.state);
      device.on("error", function (e) { showError("Call error: " + (e && e.message ? e.message : "unknown")); });
      device.on("tokenWillExpire", function () {
        api("GET", "/api/calls/token").then(function (t) { if (t.ok) device.updateToken(t.body.token); });
      });
    });
  }

  function outputSupported() {
    if (device) return !!(device.audio && device.audio.isOutputSelectionSupported);
    return typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;
  }

  // ---- The call.

  var call = null; // {id, price, events, voice, started, timer, state}

  function setState(state) {
    if (!call || call.final) return;
    call.state = state;
    statusEl.textContent = LABELS[state] || state;
    statusEl.setAttribute("data-state", state);
    if (state === "in-progress" && !call.started) {
      call.started = Date.now();
      tick();
      call.timer = setInterval(tick, 1000);
    }
    if (FINAL[state]) {
      clearInterval(call.timer);
      controls.hidden = true;
      output.hidden = true;
    }
  }

  // tick shows the running time and the cost so far: each started minute
  // costs the call's price, as the bill will.
  function tick() {
    var secs = Math.floor((Date.now() - call.started) / 1000);
    timerEl.textContent = Math.floor(secs / 60) + ":" + String(secs % 60).padStart(2, "0");
    costEl.textContent = money((Math.floor(secs / 60) + 1) * call.price);
  }

  function finish(ev) {
    setState(ev.status);
    call.final = true;
    if (call.events) call.events.close();
    var cost = typeof ev.cost_cents === "number" ? ev.cost_cents : 0;
    costEl.textContent = money(cost);
    $("[data-final-cost]").textContent = money(cost);
    $("[data-final-cost]").setAttribute("data-cents", String(cost));
    if (typeof ev.balance_cents === "number") {
      $("[data-final-balance]").textContent = money(ev.balance_cents);
      $("[data-final-balance]").setAttribute("data-cents", String(ev.balance_cents));
      document.querySelectorAll("[data-balance]").forEach(function (b) { b.textContent = money(ev.balance_cents); });
      // No call holds money now, so the balance is what is available.
      available = ev.balance_cents;
      root.setAttribute("data-available-cents", String(available));
    }
    $(".incall-cost").hidden = true;
    endBox.hidden = false;
    endBox.querySelector("[data-new-call]").focus();
    loadRecent();
  }

  function follow(id) {
    var es = new EventSource("/api/calls/" + encodeURIComponent(id) + "/events");
    call.events = es;
    es.addEventListener("status", function (m) {
      var ev;
      try { ev = JSON.parse(m.data); } catch (e) { return; }
      if (!call || call.id !== ev.call_id) return;
      // The stream ends once the call is billed; EventSource would
      // reconnect, so it is closed here.
      if (typeof ev.billed_minutes === "number") {
        finish(ev);
        return;
      }
      setState(ev.status);
    });
  }

  function connect(auth) {
    if (sandbox) {
      return api("POST", "/sandbox/carrier/calls/" + encodeURIComponent(auth.call_id) + "/connect").then(function (r) {
        if (!r.ok) throw new Error(errorMessage(r.body, r.status));
        if (r.body && r.body.refused) throw new Error(r.body.refused);
      });
    }
    if (!device) return Promise.reject(new Error("Calling is not ready yet. Wait a moment and try again."));
    return device.connect({ params: { CallId: auth.call_id, To: auth.to } }).then(function (v) {
      call.voice = v;
      v.on("error", function (e) { showError("Call error: " + (e && e.message ? e.message : "unknown")); });
    });
  }

  function startCall() {
    if (call && !call.final) return;
    showError("");
    var to = number.value.trim();
    if (!to) {
      showError("Enter the phone number you want to call.");
      number.focus();
      return;
    }
    callButton.disabled = true;
    var payload = { to: to };
    if (country.value) payload.country = country.value;
    api("POST", "/api/calls", payload).then(function (r) {
      callButton.disabled = false;
      if (!r.ok) {
        var code = r.body && r.body.error && r.body.error.code;
        showError(errorMessage(r.body, r.status), code === "insufficient_funds");
        return;
      }
      var auth = r.body;
      call = { id: auth.call_id, price: auth.price_per_minute_cents, state: "", final: false };
      incall.setAttribute("data-call-id", auth.call_id);
      form.hidden = true;
      $("[data-recent-section]").hidden = true;
      incall.hidden = false;
      endBox.hidden = true;
      controls.hidden = false;
      muteButton.setAttribute("aria-pressed", "false");
      muteButton.textContent = "Mute";
      speakerButton.hidden = !outputSupported();
      $("[data-incall-to]").textContent = auth.to_national || auth.to;
      priceEl.textContent = price(auth.price_per_minute_cents);
      timerEl.textContent = "0:00";
      costEl.textContent = money(0);
      $(".incall-cost").hidden = false;
      setState(auth.status || "authorized");
      hangupButton.focus();
      follow(auth.call_id);
      connect(auth).catch(function (e) {
        // Nothing was dialed: the workflow expires the authorisation and
        // releases its hold by itself; the person may dial again now.
        showError(e.message);
        setState("expired");
        statusEl.textContent = "Call not connected";
        call.final = true;
        if (call.events) call.events.close();
        $("[data-final-cost]").textContent = money(0);
        $("[data-final-balance]").textContent = money(Number(root.getAttribute("data-balance-cents")) || 0);
        endBox.hidden = false;
      });
    });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    startCall();
  });

  hangupButton.addEventListener("click", function () {
    if (!call || call.final) return;
    statusEl.textContent = "Hanging up…";
    if (call.voice) {
      call.voice.disconnect();
      return;
    }
    if (sandbox) api("POST", "/sandbox/carrier/calls/" + encodeURIComponent(call.id) + "/hangup");
  });

  muteButton.addEventListener("click", function () {
    var muted = muteButton.getAttribute("aria-pressed") !== "true";
    if (call && call.voice) call.voice.mute(muted);
    muteButton.setAttribute("aria-pressed", String(muted));
    muteButton.textContent = muted ? "Unmute" : "Mute";
  });

  // Speaker lists the audio outputs where the browser lets a page choose.
  var sink = null;
  speakerButton.addEventListener("click", function () {
    var open = output.hidden;
    output.hidden = !open;
    speakerButton.setAttribute("aria-expanded", String(open));
    if (!open) return;
    navigator.mediaDevices.enumerateDevices().then(function (ds) {
      outputSelect.replaceChildren();
      ds.filter(function (d) { return d.kind === "audiooutput"; }).forEach(function (d, i) {
        var o = document.createElement("option");
        o.value = d.deviceId;
        o.textContent = d.label || (d.deviceId === "default" ? "Default" : "Speaker " + (i + 1));
        outputSelect.appendChild(o);
      });
    }).catch(function () { showError("This browser does not list its speakers."); });
  });
  outputSelect.addEventListener("change", function () {
    var id = outputSelect.value;
    if (device && device.audio) {
      device.audio.speakerDevices.set([id]).catch(function (e) { showError("Could not switch output: " + e.message); });
      return;
    }
    sink = sink || new Audio();
    sink.setSinkId(id).catch(function (e) { showError("Could not switch output: " + e.message); });
  });

  $("[data-new-call]").addEventListener("click", function () {
    call = null;
    incall.hidden = true;
    form.hidden = false;
    number.focus();
    requestQuote();
  });

  setupDevice();
  loadRecent();
  requestQuote();
  root.setAttribute("data-ready", "");
})();
