// Charts for every reader: each Plotly chart gets a text summary (role="figure" and an aria-label built
// from its title, axes, series and their last values), and its mode bar buttons leave the tab order
// (they are mouse tools; ten tab stops per chart stood between a keyboard user and the controls).
(function () {
  "use strict";

  function text(value) {
    if (value === null || value === undefined) {
      return "";
    }
    return typeof value === "object" ? String(value.text || "") : String(value);
  }

  function last(values) {
    if (!values) {
      return null;
    }
    for (var i = values.length - 1; i >= 0; i--) {
      if (values[i] !== null && values[i] !== undefined && values[i] === values[i]) {
        return values[i];
      }
    }
    return null;
  }

  // A trace's values: a list, or plotly's typed array ({dtype: "f8", bdata: base64}: Portfolio's lines).
  function values(array) {
    if (!array || array.dtype !== "f8" || typeof array.bdata !== "string") {
      return array;
    }
    var text = atob(array.bdata);
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) {
      bytes[i] = text.charCodeAt(i);
    }
    return new Float64Array(bytes.buffer);
  }

  // The first and last x of a trace and its number of points: from its list of x or, on a grid of days
  // (x0 a date, dx a day in milliseconds, NaN on the days without a value), from the days with a value.
  function extent(trace) {
    var xs = trace.x || [];
    if (xs.length) {
      return [xs[0], xs[xs.length - 1], xs.length];
    }
    var ys = values(trace.y) || [];
    if (typeof trace.x0 !== "string" || !trace.dx) {
      return null;
    }
    var kept = [];
    for (var i = 0; i < ys.length; i++) {
      if (ys[i] === ys[i] && ys[i] !== null) {
        kept.push(i);
      }
    }
    if (!kept.length) {
      return null;
    }
    var start = Date.parse(trace.x0.slice(0, 10) + "T00:00:00Z");
    function day(index) {
      return new Date(start + index * trace.dx).toISOString().slice(0, 10);
    }
    return [day(kept[0]), day(kept[kept.length - 1]), kept.length];
  }

  function number(value) {
    return typeof value === "number" ? value.toLocaleString("en-US", { maximumFractionDigits: 2 }) : String(value);
  }

  function summary(plot) {
    var layout = plot.layout || {};
    var data = plot.data || [];
    var title = text(layout.title) || text((layout.meta || {}).summary);
    var note = (layout.annotations || []).map(function (a) { return text(a.text); }).join(" ");
    if (!data.length) {
      return (title ? title + ". " : "") + (note || "No data.");
    }
    var parts = [title || "Chart"];
    var span = extent(data[0]);
    if (span) {
      parts.push("From " + span[0] + " to " + span[1] + " (" + span[2] + " points)");
    }
    var axis = text((layout.yaxis || {}).title);
    if (axis) {
      parts.push("Values in " + axis);
    }
    var series = data.slice(0, 12).map(function (trace) {
      var value = last(values(trace.close || trace.y || trace.z));
      var name = trace.name || trace.type;
      return value === null || typeof value === "object" ? name : name + " last " + number(value);
    });
    parts.push("Series: " + series.join("; ") + (data.length > 12 ? "; and " + (data.length - 12) + " more" : ""));
    return parts.join(". ") + ".";
  }

  function label(plot) {
    var holder = plot.closest(".dash-graph") || plot.parentElement;
    if (holder) {
      holder.setAttribute("role", "figure");
      holder.setAttribute("aria-label", summary(plot));
    }
    plot.querySelectorAll(".modebar-btn").forEach(function (button) {
      button.setAttribute("tabindex", "-1");
    });
  }

  function watch(plot) {
    if (plot.mycfaWatched || !plot.on) {
      return;
    }
    plot.mycfaWatched = true;
    plot.on("plotly_afterplot", function () {
      label(plot);
    });
    label(plot);
  }

  // Dash 4.4's own controls, mended where axe-core finds them wrong (tests/dashboard/test_browser_ui.py
  // fails loudly if a Dash upgrade changes them):
  // - the dropdown's tab stop is a hidden proxy input (aria-hidden yet focusable); the dropdown's own
  //   button, which handles the keys, becomes the tab stop instead;
  // - the date picker's wrapper carries popup states not allowed on a plain div, and labels that say
  //   "undefined"; its clear button is a link without a target, so it says it is a button.
  function mend(root) {
    root.querySelectorAll(".dash-dropdown-focus-target").forEach(function (proxy) {
      if (proxy.getAttribute("tabindex") !== "-1") {
        proxy.setAttribute("tabindex", "-1");
      }
      var button = proxy.nextElementSibling;
      if (button && button.classList.contains("dash-dropdown") && button.getAttribute("tabindex") !== "0") {
        button.setAttribute("tabindex", "0");
      }
    });
    root.querySelectorAll(".dash-datepicker-input-wrapper").forEach(function (wrapper) {
      ["aria-expanded", "aria-haspopup", "aria-disabled"].forEach(function (name) {
        if (wrapper.hasAttribute(name)) {
          wrapper.removeAttribute(name);
        }
      });
      var labels = (wrapper.getAttribute("aria-labelledby") || "").split(" ").filter(function (id) {
        return id && id !== "undefined" && document.getElementById(id);
      });
      if (labels.join(" ") !== (wrapper.getAttribute("aria-labelledby") || "")) {
        if (labels.length) {
          wrapper.setAttribute("aria-labelledby", labels.join(" "));
        } else {
          wrapper.removeAttribute("aria-labelledby");
        }
      }
    });
    root.querySelectorAll("a.dash-datepicker-clear:not([role])").forEach(function (clear) {
      clear.setAttribute("role", "button");
    });
  }

  // Statement tables run oldest to newest, as their charts do: each opens scrolled to its newest period.
  function scrollNewest(root) {
    root.querySelectorAll("[id$='statement-grid'] .ag-body-horizontal-scroll-viewport, [id$='ratio-grid'] .ag-body-horizontal-scroll-viewport").forEach(function (bar) {
      var width = bar.scrollWidth;
      if (width > bar.clientWidth && bar.getAttribute("data-mycfa-width") !== String(width)) {
        bar.setAttribute("data-mycfa-width", String(width));
        bar.scrollLeft = width;
      }
    });
  }

  new MutationObserver(function () {
    document.querySelectorAll(".js-plotly-plot").forEach(watch);
    mend(document);
    scrollNewest(document);
  }).observe(document.documentElement, {
    childList: true,
    subtree: true,
    attributes: true,
    attributeFilter: ["tabindex", "aria-expanded", "aria-haspopup", "aria-disabled", "aria-labelledby"],
  });
})();
