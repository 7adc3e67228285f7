// House Meeting Kit: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // Copy buttons: <button type="button" class="button secondary" data-copy="https://…" hidden>Copy link</button>
  // They ship hidden and appear only when the clipboard can be used.
  function setUpCopyButtons() {
    if (!navigator.clipboard || !window.isSecureContext) return;
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      var label = button.textContent;
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
          button.textContent = "Copied!";
          setTimeout(function () { button.textContent = label; }, 2500);
        }, function () {
          button.textContent = "Couldn't copy; select the link instead";
        });
      });
    });
  }

  // Error summary: move focus there so screen readers and keyboards start at the problems,
  // and make its links focus the control itself, not just scroll to it.
  function setUpErrorSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (!summary) return;
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      var target = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!target) return;
      event.preventDefault();
      target.focus();
      target.scrollIntoView({ block: "center" });
    });
  }

  // Forms marked data-submit-once disable their submit buttons after the first submit,
  // so a double click doesn't send twice.
  function setUpSubmitOnce() {
    document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
      form.addEventListener("submit", function () {
        setTimeout(function () {
          form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) {
            b.disabled = true;
          });
        }, 0);
      });
    });
  }

  setUpCopyButtons();
  setUpErrorSummary();
  setUpSubmitOnce();
})();
