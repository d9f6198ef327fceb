// Mobayilo app shell. Plain JavaScript, no build step, no inline handlers:
// pages work under a Content-Security-Policy of script-src 'self'.
(function () {
  "use strict";

  // Mobayilo.api sends a JSON request to our API and resolves {ok, status,
  // body}; it never rejects, so every page script (the dialer, Settings)
  // shows a message instead of failing silently. Same-origin only: the
  // server's cross-origin protection refuses anything else.
  window.Mobayilo = window.Mobayilo || {};
  window.Mobayilo.api = function (method, path, payload) {
    var init = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (payload !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    return fetch(path, init).then(function (res) {
      return res.text().then(function (t) {
        var body = null;
        try { body = t ? JSON.parse(t) : null; } catch (e) { body = null; }
        return { ok: res.ok, status: res.status, body: body };
      });
    }, function () {
      return { ok: false, status: 0, body: { error: { message: "You seem to be offline. Check your connection and try again." } } };
    });
  };

  var root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("js");

  // The sprite URL carries a content hash; reuse the one the page was
  // rendered with.
  function spriteURL() {
    var use = document.querySelector("svg use");
    var href = use && (use.getAttribute("href") || use.getAttribute("xlink:href"));
    return href ? href.split("#")[0] : "/static/icons/sprite.svg";
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function icon(name) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "icon");
    svg.setAttribute("aria-hidden", "true");
    var use = document.createElementNS(ns, "use");
    use.setAttribute("href", spriteURL() + "#" + name);
    svg.appendChild(use);
    return svg;
  }

  function isText(v) {
    return typeof v === "string" && v.trim() !== "";
  }

  function toNumber(v) {
    if (typeof v === "number" && isFinite(v)) return v;
    if (typeof v === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(v)) return Number(v);
    return null;
  }

  function money(cents, currency) {
    var amount = cents / 100;
    var code = isText(currency) && /^[A-Za-z]{3}$/.test(currency) ? currency.toUpperCase() : "USD";
    try {
      return new Intl.NumberFormat("en-US", {
        style: "currency",
        currency: code,
        minimumFractionDigits: 2,
        maximumFractionDigits: 3
      }).format(amount);
    } catch (e) {
      return "$" + amount.toFixed(2);
    }
  }

  function humanize(key) {
    var words = String(key).replace(/[_-]+/g, " ").trim();
    return words.charAt(0).toUpperCase() + words.slice(1);
  }

  // Fields the card shows in its own place; any other scalar field the API
  // adds later is listed under them rather than dropped.
  var KNOWN = {
    e164: true, country: true, iso: true, destination: true, currency: true,
    individual_cents_per_minute: true, company_cents_per_minute: true
  };

  function renderRate(box, data) {
    box.classList.remove("is-error");
    box.replaceChildren();

    var head = el("div", "rate-dest");
    var iso = isText(data.iso) ? data.iso.trim().toUpperCase().slice(0, 3) : "";
    var badge = el("span", "rate-iso", iso);
    badge.setAttribute("aria-hidden", "true");
    if (!iso) badge.appendChild(icon("globe"));
    head.appendChild(badge);
    var names = el("div");
    var country = isText(data.country) ? data.country : isText(data.destination) ? data.destination : "Destination";
    names.appendChild(el("p", "rate-country", country));
    if (isText(data.destination) && data.destination !== country) {
      // "Nigeria Mobile" under "Nigeria" reads as "Mobile".
      var dest = data.destination;
      if (dest.indexOf(country + " ") === 0) dest = dest.slice(country.length + 1);
      names.appendChild(el("p", "rate-destination", dest));
    }
    head.appendChild(names);
    box.appendChild(head);

    var cents = toNumber(data.individual_cents_per_minute);
    var price = el("p", "rate-price");
    if (cents !== null) {
      price.appendChild(el("span", "rate-amount", money(cents, data.currency)));
      price.appendChild(el("span", "rate-unit", "per minute"));
    } else {
      price.appendChild(el("span", "rate-unit", "No price for this destination yet."));
    }
    box.appendChild(price);

    var meta = el("dl", "rate-meta");
    function row(label, value) {
      meta.appendChild(el("dt", "", label));
      meta.appendChild(el("dd", "", value));
    }
    if (isText(data.e164)) row("Number", data.e164);
    var company = toNumber(data.company_cents_per_minute);
    if (company !== null) row("Company seats", money(company, data.currency) + " per minute");
    var extra = 0;
    Object.keys(data).forEach(function (key) {
      var v = data[key];
      if (KNOWN[key] || extra >= 6) return;
      if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") {
        row(humanize(key), String(v));
        extra++;
      }
    });
    if (meta.childNodes.length) box.appendChild(meta);

    if (cents !== null) {
      box.appendChild(el("p", "rate-note", "Billed per started minute from your prepaid credit."));
    }
    if (isText(data.e164)) {
      var call = el("a", "button button-primary button-block");
      call.href = "/dial?number=" + encodeURIComponent(data.e164);
      call.appendChild(icon("phone"));
      call.appendChild(el("span", "", "Call this number"));
      box.appendChild(call);
    }
    box.hidden = false;
  }

  function renderError(box, message, iconName) {
    box.classList.add("is-error");
    box.replaceChildren();
    var row = el("div", "rate-error");
    row.setAttribute("role", "alert");
    row.appendChild(icon(iconName || "alert"));
    row.appendChild(el("p", "", message));
    box.appendChild(row);
    box.hidden = false;
  }

  function apiMessage(body) {
    var err = body && typeof body === "object" ? body.error : null;
    if (err && typeof err === "object" && isText(err.message)) return err.message;
    if (isText(err)) return err;
    return "";
  }

  function setupRateForm(form) {
    var box = document.querySelector("[data-rate-result]");
    var submit = form.querySelector("[data-rate-submit]");
    var phone = form.elements.namedItem("phone_number");
    var country = form.elements.namedItem("country");
    if (!box || !submit || !phone) return;
    var label = submit.textContent;
    var inflight = null;

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var number = phone.value.trim();
      if (!number) {
        renderError(box, "Enter the phone number you want to call.");
        phone.focus();
        return;
      }
      if (inflight) inflight.abort();
      var controller = new AbortController();
      inflight = controller;
      var timer = setTimeout(function () { controller.abort(); }, 15000);

      var params = new URLSearchParams();
      params.set("phone_number", number);
      if (country && country.value) params.set("country", country.value);

      submit.disabled = true;
      submit.textContent = "Checking…";
      box.setAttribute("aria-busy", "true");

      fetch(form.getAttribute("action") + "?" + params.toString(), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: controller.signal
      })
        .then(function (res) {
          return res.text().then(function (text) {
            var body = null;
            try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
            return { res: res, body: body };
          });
        })
        .then(function (r) {
          if (controller !== inflight) return;
          if (r.res.ok && r.body && typeof r.body === "object" && !Array.isArray(r.body)) {
            renderRate(box, r.body);
            return;
          }
          var msg = apiMessage(r.body);
          if (r.res.status >= 400 && r.res.status < 500 && msg) {
            renderError(box, msg);
          } else if (r.res.status === 429) {
            renderError(box, "Too many checks in a row. Wait a moment and try again.");
          } else {
            renderError(box, "We could not check that price right now. Please try again.");
          }
        })
        .catch(function (e) {
          if (controller !== inflight) return;
          if (e && e.name === "AbortError") {
            renderError(box, "That took too long. Check your connection and try again.", "wifi-off");
          } else {
            renderError(box, "You seem to be offline. Check your connection and try again.", "wifi-off");
          }
        })
        .finally(function () {
          clearTimeout(timer);
          if (controller !== inflight) return;
          inflight = null;
          submit.disabled = false;
          submit.textContent = label;
          box.removeAttribute("aria-busy");
        });
    });
  }

  function init() {
    var forms = document.querySelectorAll("[data-rate-form]");
    for (var i = 0; i < forms.length; i++) setupRateForm(forms[i]);
    // Lets tests (and CSS) know the handlers are attached.
    root.classList.add("js-ready");
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
