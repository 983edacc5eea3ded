"""`python -m web.cli` is the `sijosku` command."""

from web.cli import main

main()
