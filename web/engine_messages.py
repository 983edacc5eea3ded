"""The engine's messages in the reader's language.

The engine speaks Indonesian: its refusals, problems and quality flags are Indonesian sentences,
most of them built with f-strings, and flags and import reports are stored that way. A page in
English translates them where it shows them. `python -m web.engine_messages` (run by
`make translations`) reads every such sentence from the engine's source as a template ("Tugas {0}
tidak ada") into `translations/en/LC_MESSAGES/engine.po`; a test checks each has its English. At
run time a message is looked up whole, or matched against the templates, and the English template
is filled with the pieces the Indonesian one carried (codes, names, numbers).
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

CATALOG = Path(__file__).resolve().parent / "translations" / "en" / "LC_MESSAGES" / "engine.po"
ENGINE = Path(__file__).resolve().parents[1] / "engine"
FORMS = Path(__file__).resolve().parent / "forms.py"  # the forms' refusals, written beside their fields
SOURCES = (ENGINE, FORMS)
# Calls whose string arguments are messages a person reads.
MESSAGE_CALLS = {
    "Invalid",
    "NotFound",
    "Conflict",
    "Forbidden",
    "Unavailable",
    "ClaimRequired",
    "Throttled",
    "Problem",
    "NeedsConfirmation",
    "phrase",
    "Finding",
    "Flag",
    "QualityFlag",
    "_problem",
    "_refuse",
    "SandboxError",
    "OverBudget",
    "ChainReport",
}
PHRASE_CALLS = {"phrase"}  # a word or clause built into a sentence: taken even when it is one word
MESSAGE_KEYWORDS = {"message", "summary"}
PLACEHOLDER = re.compile(r"\{(\d+)\}")
LONGEST = 2000  # characters of a message worth matching; longer ones are shown as they are


# -- reading the templates from the source ------------------------------------------------------


def template(node: ast.AST) -> str | None:
    """A string literal as it is, an f-string with `{0}`, `{1}` ... for its pieces; else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts, n = [], 0
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value).replace("{", "{{").replace("}", "}}"))
            else:
                parts.append(f"{{{n}}}")
                n += 1
        return "".join(parts)
    return None


def _is_sentence(text: str) -> bool:
    return " " in text and len(PLACEHOLDER.sub("", text).strip()) >= 4 and not text.startswith(SQL)


SQL = ("SELECT ", "INSERT ", "UPDATE ", "DELETE ")


def _is_phrase(node: ast.AST, text: str) -> bool:
    return isinstance(node, ast.Call) and _called(node) in PHRASE_CALLS and any(c.isalpha() for c in text)


def _called(node: ast.Call) -> str:
    return node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")


def _messages_of(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Call):
        chosen = [k.value for k in node.keywords if k.arg in MESSAGE_KEYWORDS]
        return list(node.args) + chosen if _called(node) in MESSAGE_CALLS else chosen
    if isinstance(node, ast.FunctionDef) and node.name == "summary":  # a report's summary of what was done
        return [r.value for r in ast.walk(node) if isinstance(r, ast.Return) and r.value is not None]
    if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and "REFUSAL" in t.id for t in node.targets):
        return list(node.value.values) if isinstance(node.value, ast.Dict) else []  # refusals by purpose
    if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets):
        return [node.value]  # a message kept in a constant (BUSY)
    return []


def _branches(arguments: list[ast.expr]) -> list[ast.expr]:
    """A message chosen by a condition (`a if ... else b`) is two messages."""
    found: list[ast.expr] = []
    for argument in arguments:
        found += _branches([argument.body, argument.orelse]) if isinstance(argument, ast.IfExp) else [argument]
    return found


def _files(sources: tuple[Path, ...]) -> list[Path]:
    return [p for source in sources for p in (sorted(source.rglob("*.py")) if source.is_dir() else [source])]


def extract(sources: tuple[Path, ...] = SOURCES) -> dict[str, str]:
    """Every message template of the engine's source (and the forms'), with where it is first written."""
    found: dict[str, str] = {}
    for path in _files(sources):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for argument in _branches(_messages_of(node)):
                text = template(argument)
                if text and (_is_sentence(text) or _is_phrase(node, text)):
                    found.setdefault(text, f"{path.relative_to(ENGINE.parent)}:{getattr(node, 'lineno', 0)}")
    return found


def update(catalog_path: Path = CATALOG, sources: tuple[Path, ...] = SOURCES) -> list[str]:
    """Bring the catalog in line with the source: keep translations, add new templates, drop gone
    ones. Returns the templates still without English."""
    old = {m.id: m.string for m in _read(catalog_path) if m.id} if catalog_path.exists() else {}
    catalog = Catalog(locale="en", project="SIJOSKU", fuzzy=False)
    for text, where in sorted(extract(sources).items()):
        catalog.add(text, old.get(text, ""), locations=[(where.rsplit(":", 1)[0], int(where.rsplit(":", 1)[1]))])
    with catalog_path.open("wb") as out:
        write_po(out, catalog, width=0, sort_output=True)
    return [str(m.id) for m in catalog if m.id and not m.string]


def _read(path: Path) -> Catalog:
    with path.open("rb") as stream:
        return read_po(stream)


# -- translating at run time -------------------------------------------------------------------


@dataclass
class Translations:
    """Indonesian template -> English, looked up whole or matched with its pieces."""

    whole: dict[str, str] = field(default_factory=dict)
    patterns: list[tuple[Template, str]] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path = CATALOG) -> Translations:
        found = cls()
        if not path.exists():
            return found
        for message in _read(path):
            if not (message.id and message.string):
                continue
            indonesian, english = str(message.id), str(message.string)
            if PLACEHOLDER.search(indonesian):
                found.patterns.append((Template.of(indonesian), english))
            else:
                found.whole[indonesian.replace("{{", "{").replace("}}", "}")] = english
        found.patterns.sort(key=lambda p: p[0].order)
        return found

    def translate(self, text: str) -> str:
        if not text or len(text) > LONGEST:
            return text
        if text in self.whole:
            return self.whole[text]
        for template_of, english in self.patterns:
            pieces = template_of.pieces(text)
            if pieces is not None:
                return english.format(*[self.translate(piece) for piece in pieces])
        return text


@dataclass(frozen=True)
class Template:
    """A message's literal parts around its pieces. A text is matched by finding each literal part
    after the one before, the first place it occurs (as a lazy regular expression would first try):
    linear in the text, where a regular expression of six lazy groups backtracked for seconds on a
    long message (an element's name of 1,900 characters in a lint's problem took ten)."""

    literals: tuple[str, ...]  # one more than the pieces
    optional_last: bool  # a piece that ends the message may be empty (an optional note after it)

    @classmethod
    def of(cls, template_text: str) -> Template:
        parts = PLACEHOLDER.split(template_text)  # literal, number, literal, number, ...
        literals = tuple(part.replace("{{", "{").replace("}}", "}") for part in parts[::2])
        return cls(literals, literals[-1] == "")

    @property
    def order(self) -> int:
        """The most literal text first: "Tugas {0} tidak ada" before "{0} tidak ada"."""
        return -sum(len(literal) for literal in self.literals)

    def pieces(self, text: str) -> list[str] | None:
        first, *middle, last = self.literals
        if not (text.startswith(first) and text.endswith(last)):
            return None
        end_of_pieces = len(text) - len(last)
        found, at = [], len(first)
        for literal in middle:
            end = text.find(literal, at + 1, end_of_pieces)  # a piece has at least one character
            if end < 0:
                return None
            found.append(text[at:end])
            at = end + len(literal)
        least = 0 if self.optional_last else 1
        if end_of_pieces - at < least:
            return None
        return [*found, text[at:end_of_pieces]]


@cache
def english() -> Translations:
    return Translations.read()


def main() -> None:
    missing = update()
    print(f"{CATALOG.name}: {len(missing)} pesan mesin belum berbahasa Inggris")
    for text in missing[:50]:
        print(f"  - {text}")


if __name__ == "__main__":
    main()
    sys.exit(0)
