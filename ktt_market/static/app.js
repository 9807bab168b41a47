/* KTT Market: the site works without this file; it only lets a keyboard scroll a table wider than the screen. */
(function () {
  "use strict";
  // A .table-scroll that overflows (a wide table on a phone) takes the focus, so arrow keys can scroll it;
  // one that fits stays out of the tab order. Its name is its table's caption or the section's heading.
  function mark() {
    document.querySelectorAll(".table-scroll").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        if (!box.hasAttribute("tabindex")) {
          var caption = box.querySelector("caption");
          var heading = box.closest("section") && box.closest("section").querySelector("h2, h3");
          var name = (caption || heading || document.querySelector("h1") || {}).textContent;
          box.setAttribute("tabindex", "0");
          box.setAttribute("role", "region");
          if (name) box.setAttribute("aria-label", name.trim());
        }
      } else if (box.getAttribute("role") === "region") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }
  mark();
  window.addEventListener("resize", mark);
})();
