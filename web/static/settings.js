// Settings page: copy a new token, and confirm before revoking. The page
// works without it: the token is selectable text and the forms post as is.
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
})();
