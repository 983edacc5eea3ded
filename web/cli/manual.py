"""`sijosku manual`: the operator manual (web/manual/panduan) as one printable HTML page and a PDF."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import click

from engine.core.errors import Invalid
from web.cli.common import refusals

PDF_SECONDS = 180


def _print_pdf(html: Path, pdf: Path) -> None:
    """Chromium (Debian's package) prints the page; it is the browser the end-to-end tests use."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise Invalid("Chromium tidak terpasang: jalankan `make browser` (apt-get install chromium)")
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-pdf-header-footer",
        "--allow-file-access-from-files",
        f"--print-to-pdf={pdf}",
        html.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, timeout=PDF_SECONDS, check=False)  # noqa: S603
    if done.returncode != 0 or not pdf.is_file():
        raise Invalid(f"Chromium gagal mencetak PDF: {done.stderr.decode(errors='replace')[-500:]}")


@click.command()
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("build/panduan"), show_default=True
)
@click.option("--no-pdf", is_flag=True, help="hanya HTML")
def manual(out: Path, no_pdf: bool) -> None:
    """Susun panduan (web/manual/panduan) menjadi panduan.html dan panduan.pdf di --out."""
    from web.app import create_app  # the templates are the app's
    from web.manual_chapters import printable

    with refusals():
        out.mkdir(parents=True, exist_ok=True)
        app = create_app()
        with app.test_request_context("/"):
            html = printable()
        page = out / "panduan.html"
        page.write_text(html, encoding="utf-8")
        click.echo(f"HTML: {page}")
        if not no_pdf:
            pdf = out / "panduan.pdf"
            _print_pdf(page, pdf)
            click.echo(f"PDF: {pdf}")


COMMANDS = [manual]
