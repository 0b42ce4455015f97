/* privacyops privacy center: the one behaviour pages need beyond HTML (no framework). */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-consent-open]") : null;
    if (target && window.privacyopsConsent) { window.privacyopsConsent.open(); }
  });
}());
