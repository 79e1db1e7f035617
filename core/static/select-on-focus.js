/* Read-only example fields (CSV headers to copy) select their whole text on focus,
   so one Ctrl+C copies it. A file of its own: the Content-Security-Policy runs no
   inline event handlers (core/hardening.py). */
document.addEventListener('focusin', function (event) {
  var field = event.target;
  if (field.matches && field.matches('input[data-select-on-focus]')) field.select();
});
