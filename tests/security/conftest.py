"""The security tests drive the web app like the page tests do: the same fixtures."""

from tests.web.conftest import api, app, browser, issue_token, signed_in, world  # noqa: F401
