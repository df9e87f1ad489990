// The ticker picker (components/page.py symbol_picker): options ranked as an analyst types (an exact
// ticker first, then tickers starting with the text, then names starting with it, then any other
// match; companies with data before those without), and typing always reaches the search box.
(function () {
  "use strict";
  var ns = (window.dash_clientside = window.dash_clientside || {});
  var mycfa = (ns.mycfa = ns.mycfa || {});

  function rank(option, text) {
    var ticker = String(option.value).toUpperCase();
    var label = String(option.label).toUpperCase();
    var name = label.slice(label.indexOf(" · ") + 3);
    if (ticker === text) {
      return 0;
    }
    if (ticker.indexOf(text) === 0) {
      return 1;
    }
    if (name.indexOf(text) === 0 || name.indexOf(" " + text) >= 0) {
      return 2;
    }
    return 3;
  }

  // rankOptions(search, all, value) -> the options to show, best first; the chosen ones always kept
  // (the dropdown clears a value missing from its options).
  mycfa.rankOptions = function (search, all, value) {
    if (!all) {
      return ns.no_update;
    }
    var text = (search || "").trim().toUpperCase();
    if (!text) {
      return all;
    }
    var tokens = text.split(/\s+/);
    var scored = [];
    all.forEach(function (option, i) {
      var ticker = String(option.value).toUpperCase();
      var label = String(option.label).toUpperCase();
      var hit = tokens.every(function (t) {
        return ticker.indexOf(t) >= 0 || label.indexOf(t) >= 0;
      });
      if (hit) {
        scored.push([rank(option, text), option.nodata ? 1 : 0, i, option]);
      }
    });
    scored.sort(function (a, b) {
      return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
    });
    var out = scored.map(function (s) {
      return s[3];
    });
    var chosen = Array.isArray(value) ? value : value === null || value === undefined ? [] : [value];
    chosen.forEach(function (v) {
      if (!out.some(function (o) { return o.value === v; })) {
        var known = all.filter(function (o) { return o.value === v; })[0];
        if (known) {
          out.push(known);
        }
      }
    });
    return out;
  };

  // A printable key on an option (the list opened with Enter or ArrowDown focuses the chosen option)
  // goes to the search box instead of being lost.
  document.addEventListener(
    "keydown",
    function (event) {
      var target = event.target;
      if (!target || !target.closest || event.ctrlKey || event.metaKey || event.altKey) {
        return;
      }
      if (event.key.length !== 1 || target.classList.contains("dash-dropdown-search")) {
        return;
      }
      var content = target.closest(".dash-dropdown-content");
      var box = content && content.querySelector(".dash-dropdown-search");
      if (box) {
        box.focus();
      }
    },
    true
  );
})();
