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

  // Typing always reaches the search box. Dash 4.4's dropdown drops keys typed on its closed button
  // while its list opens (only the last one arrived), and keys typed on an option (the list opened with
  // Enter or ArrowDown focuses the chosen one) go nowhere. So a printable key on the button opens the
  // list and is kept, with any that follow, until the search box exists; on an option it is added to
  // the search box. The box is filled as typing would (the input event React listens to).
  var pending = null;

  function printable(event) {
    return event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey;
  }

  function fill(box, text) {
    var setter = Object.getOwnPropertyDescriptor(window.HTMLInputElement.prototype, "value").set;
    box.focus();
    setter.call(box, text);
    box.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function whenOpen(button, tries) {
    var holder = button.parentElement || document;
    var box = holder.querySelector(".dash-dropdown-search") || document.querySelector(".dash-dropdown-search");
    if (box) {
      var text = pending;
      pending = null;
      fill(box, text);
    } else if (tries > 0) {
      window.requestAnimationFrame(function () {
        whenOpen(button, tries - 1);
      });
    } else {
      pending = null;
    }
  }

  document.addEventListener(
    "keydown",
    function (event) {
      var target = event.target;
      if (!target || !target.closest || !printable(event)) {
        return;
      }
      if (target.classList.contains("dash-dropdown-search")) {
        return;
      }
      if (pending !== null || target.classList.contains("dash-dropdown")) {
        event.preventDefault();
        event.stopPropagation();
        if (pending === null) {
          pending = "";
          target.click();
          whenOpen(target, 120);
        }
        pending += event.key;
        return;
      }
      var content = target.closest(".dash-dropdown-content");
      var box = content && content.querySelector(".dash-dropdown-search");
      if (box) {
        event.preventDefault();
        event.stopPropagation();
        fill(box, box.value + event.key);
      }
    },
    true
  );
  // Dash's button reacts on key-up: the keys kept above must not reach it a second time.
  document.addEventListener(
    "keyup",
    function (event) {
      var target = event.target;
      if (target && target.classList && target.classList.contains("dash-dropdown") && printable(event)) {
        event.stopPropagation();
      }
    },
    true
  );
})();
