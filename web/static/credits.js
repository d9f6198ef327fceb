// Credits page: the custom amount selects "Other", and the minimum is
// checked before the form leaves (the server checks it again).
(function () {
  "use strict";
  var form = document.querySelector("[data-topup-form]");
  if (!form) return;
  var custom = form.querySelector("[data-custom-amount]");
  var radio = form.querySelector("[data-custom-radio]");
  var error = form.querySelector("[data-amount-error]");
  var min = Number(form.getAttribute("data-min"));
  var max = Number(form.getAttribute("data-max"));
  custom.addEventListener("input", function () {
    radio.checked = true;
    error.textContent = "";
  });
  form.addEventListener("submit", function (e) {
    if (!radio.checked) return;
    var v = Number(custom.value);
    if (!custom.value || isNaN(v) || v < min) {
      e.preventDefault();
      error.textContent = "The minimum top-up is $" + min + ".";
      custom.focus();
    } else if (v > max) {
      e.preventDefault();
      error.textContent = "The maximum top-up is $" + max + ".";
      custom.focus();
    }
  });
})();
