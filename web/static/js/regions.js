// Picking a region from the search results fills the code field of the role form.
document.addEventListener("click", function (event) {
  var button = event.target.closest(".region-pick");
  if (!button) { return; }
  var field = document.getElementById("f-region");
  if (field) { field.value = button.dataset.kode; field.focus(); }
});
