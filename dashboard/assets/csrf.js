// Dash callbacks carry this session's CSRF token: the server refuses a POST to /_dash-* without it.
// The token is in the `mycfa_csrf` cookie (`__Host-mycfa_csrf` when Secure; SameSite=Strict, readable
// by our own pages only).
(function () {
  "use strict";
  function token() {
    var match = document.cookie.match(/(?:^|;\s*)(?:__Host-)?mycfa_csrf=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }
  var originalFetch = window.fetch.bind(window);
  window.fetch = function (input, init) {
    var url = typeof input === "string" ? input : (input && input.url) || "";
    var sameOrigin = url.charAt(0) === "/" || url.indexOf(window.location.origin + "/") === 0;
    var method = ((init && init.method) || (input && input.method) || "GET").toUpperCase();
    if (sameOrigin && method !== "GET" && method !== "HEAD") {
      init = Object.assign({}, init || {});
      var headers = new Headers(init.headers || (input && input.headers) || {});
      headers.set("X-CSRF-Token", token());
      init.headers = headers;
    }
    return originalFetch(input, init);
  };
})();
