// "CSV + provenance" links (components/export.py register_trail_links): each is its CSV's link with
// "-trail" before ".csv", on the same query; "#" (hidden) while the CSV's link is.
(function () {
  "use strict";
  var ns = (window.dash_clientside = window.dash_clientside || {});
  var mycfa = (ns.mycfa = ns.mycfa || {});

  mycfa.trailHrefs = function () {
    return Array.prototype.map.call(arguments, function (href) {
      return href && href !== "#" ? String(href).replace(/\.csv\?/, "-trail.csv?") : "#";
    });
  };
})();
