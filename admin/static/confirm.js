// Asks before a form with data-confirm="..." is sent (the delete buttons): the question comes from
// the page, already translated, and no inline handler is needed under the panel's CSP.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form && form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
}, true);
