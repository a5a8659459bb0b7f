// The API reference page (/api/v1/docs): Swagger UI over the served OpenAPI description. "Try it out" runs
// with the signed-in session, so a write carries the page's CSRF token; a bearer token set with Authorize
// is sent instead by Swagger UI itself.
document.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  window.SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    domNode: root,
    deepLinking: true,
    validatorUrl: null,
    requestInterceptor: function (request) {
      if (!/^(GET|HEAD|OPTIONS)$/i.test(request.method || "GET")) {
        request.headers["X-CSRFToken"] = csrf;
      }
      return request;
    },
  });
});
