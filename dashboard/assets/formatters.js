// Cell formatters for dash-ag-grid (`{"function": "mycfaFormat(params.value, 'usd_m')"}`).
// Kinds mirror dashboard/components/formats.py KINDS: the grid keeps raw numbers (sorting, filtering),
// only the text shown is scaled and suffixed.
(function () {
  var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});
  // kind: [scale, decimals, suffix, signed]
  var KINDS = {
    usd_m: [1e-6, 1, "", false],
    usd_bn: [1e-9, 2, "", false],
    usd: [1, 2, "", false],
    pct: [100, 1, "%", false],
    pct2: [100, 2, "%", false],
    pct_signed: [100, 1, "%", true],
    x: [1, 1, "x", false],
    num2: [1, 2, "", false],
    num3: [1, 3, "", false],
    int: [1, 0, "", false],
    shares_m: [1e-6, 1, "", false],
  };
  var cache = {};

  function formatter(spec) {
    var key = spec.join("|");
    if (!cache[key]) {
      cache[key] = new Intl.NumberFormat("en-US", {
        minimumFractionDigits: spec[1],
        maximumFractionDigits: spec[1],
        signDisplay: spec[3] ? "exceptZero" : "auto",
      });
    }
    return cache[key];
  }

  dagfuncs.mycfaFormat = function (value, kind) {
    if (value === null || value === undefined || value === "") {
      return "";
    }
    var spec = KINDS[kind];
    var number = Number(value);
    if (!spec || typeof value === "boolean" || !isFinite(number)) {
      return String(value);
    }
    return formatter(spec).format(number * spec[0]) + spec[2];
  };
})();
