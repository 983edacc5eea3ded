"""The security tests drive the web app and the command line as their own tests do: the same fixtures."""

from tests.integration.conftest import cli  # noqa: F401
from tests.web.conftest import api, app, browser, issue_token, signed_in, world  # noqa: F401
