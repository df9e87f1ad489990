// Grid cell renderers (dash-ag-grid `cellRenderer`): a ticker as a link to its Company page.
(function () {
  "use strict";
  var components = (window.dashAgGridComponentFunctions = window.dashAgGridComponentFunctions || {});

  components.TickerLink = function (props) {
    if (props.value === null || props.value === undefined || props.value === "") {
      return "";
    }
    var ticker = String(props.value);
    return React.createElement(
      "a",
      { href: "/?symbol=" + encodeURIComponent(ticker), title: "Open " + ticker + " on the Company page" },
      ticker
    );
  };
})();
