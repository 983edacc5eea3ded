// The API documentation page: Swagger UI (installed from npm) reading the OpenAPI document.
(function () {
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({ url: root.dataset.spec, domNode: root, deepLinking: true });
})();
