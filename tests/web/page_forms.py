"""A page's forms sent as a browser sends them: the fields the page itself carries (its token among
them), what a person types beside a field's label, and files as the form's encoding sends them."""

from __future__ import annotations

import io

from lxml import html as lhtml
from werkzeug.datastructures import MultiDict


def page_of(browser, path: str):
    answer = browser.get(path, follow_redirects=True)
    assert answer.status_code == 200, (path, answer.status_code)
    return lhtml.fromstring(answer.get_data(as_text=True))


def form_of(doc, action: str):
    """The first form on the page whose address holds `action` (the empty one: the form sent to the
    page itself; `#id`: the form of that id)."""
    if action.startswith("#"):
        return doc.get_element_by_id(action[1:])
    if not action:
        return [f for f in doc.forms if f.get("action") is None and f.get("method") == "post"][0]
    found = [f for f in doc.forms if action in (f.get("action") or "")]
    assert found, f"no form sending to {action}"
    return found[0]


def send_form(browser, path: str, action: str, typed=None, chosen=None, files=None, doc=None):
    """The form of `path` sending to `action`, sent as the browser sends it: the fields the page gives,
    `typed` into the field each label names, `chosen` set by the field's own name (a radio or a list), and
    `files` ({name: (content, filename)}) as the form's encoding sends them: without a multipart encoding, a
    browser sends a file's name alone."""
    doc = page_of(browser, path) if doc is None else doc
    form = form_of(doc, action)
    fields = MultiDict(form.form_values())
    for label_text, value in (typed or {}).items():
        labels = [label for label in form.iter("label") if label_text in label.text_content()]
        assert labels, f"no field labelled {label_text!r}"
        fields[doc.get_element_by_id(labels[0].get("for")).get("name")] = value
    for name, value in (chosen or {}).items():
        fields[name] = value
    multipart = form.get("enctype") == "multipart/form-data"
    for name, (content, filename) in (files or {}).items():
        fields[name] = (io.BytesIO(content), filename) if multipart else filename
    target = form.get("action") or path
    if (form.get("method") or "get").lower() == "post":
        return browser.client.post(target, data=fields)
    return browser.client.get(target, query_string=fields)


def text_of(answer) -> str:
    return answer.get_data(as_text=True)


MINUTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"  # the smallest whole PDF


def attach_minutes(browser, sid: int, content: bytes = MINUTES, name: str = "ba.pdf"):
    """The operator uploads the signed minutes (berita acara) of submission `sid` from its page."""
    return browser.post(
        f"/desa/pengajuan/{sid}/berita-acara",
        {"berkas": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
        token_from=f"/desa/pengajuan/{sid}",
    )


def mark_on_register(browser, sid: int, fields: dict):
    """The operator marks an entry on submission `sid`'s register: `item_id`, `status` and its reason."""
    return browser.post(f"/desa/pengajuan/{sid}/register", fields, token_from=f"/desa/pengajuan/{sid}")
