// Every view a link (dashboard/components/urlstate.py): each page's controls are written to its query
// string as they change (history.replaceState: no reload, no server round trip), and the page's query
// goes into the shell's `app-context` store, from which the navbar links carry the current ticker and
// each page's last view.
(function () {
  "use strict";
  var ns = (window.dash_clientside = window.dash_clientside || {});
  var mycfa = (ns.mycfa = ns.mycfa || {});

  function encode(kind, value) {
    if (kind === "choices" || kind === "list" || kind === "symbols") {
      return (value || []).join(",");
    }
    if (value === null || value === undefined || value === "") {
      return null;
    }
    if (kind === "date") {
      return String(value).slice(0, 10);
    }
    return String(value);
  }

  // syncUrl(...controls, spec, context) -> the new context.
  mycfa.syncUrl = function () {
    var args = Array.prototype.slice.call(arguments);
    var context = args.pop() || {};
    var spec = args.pop();
    if (!spec) {
      return ns.no_update;
    }
    var query = new URLSearchParams();
    var symbol = null;
    spec.params.forEach(function (param, i) {
      var text = encode(param.kind, args[i]);
      if (param.kind === "symbol" && text) {
        symbol = text;
      }
      if (text !== null && (param.always || text !== param["default"])) {
        query.set(param.name, text);
      }
    });
    var search = query.toString() ? "?" + query.toString() : "";
    // Only while this page is the one shown: a late answer must not rewrite another page's address.
    if (window.location.pathname === spec.path && window.location.search !== search) {
      window.history.replaceState(window.history.state, "", spec.path + search + window.location.hash);
    }
    var pages = Object.assign({}, context.pages || {});
    pages[spec.page] = search;
    return Object.assign({}, context, { pages: pages, symbol: symbol || context.symbol || null });
  };

  // navLinks(context, nav) -> one href per navbar link: the page's last query, with the current ticker.
  mycfa.navLinks = function (context, nav) {
    context = context || {};
    return nav.map(function (item) {
      var query = new URLSearchParams((context.pages || {})[item.page] || "");
      if (item.symbol && context.symbol) {
        query.set("symbol", context.symbol);
      }
      var search = query.toString();
      return item.path + (search ? "?" + search : "");
    });
  };

  mycfa.toggle = function (clicks, open) {
    return clicks ? !open : open;
  };
})();
