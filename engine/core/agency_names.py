"""Whose figures a name means: Dinas Sosial's own however it is written, or another agency's.

Both the agency figure files (`engine.quality.figure_files`) and the agencies' API tokens
(`engine.people.tokens`) ask it: no agency may write figures as Dinas Sosial.
"""

from __future__ import annotations

OURS = "dinsos"  # the province's own figures carry this source

# Dinas Sosial of the province however it is written ("DINSOS", "Dinas Sosial Prov. Kaltara"), its
# letters only; an office with more after "Sosial" (a merged office, a regency's) is another agency
OUR_NAMES = {
    office + province + place
    for office in ("dinsos", "dinassosial")
    for province in ("", "prov", "provinsi")
    for place in ("", "kaltara", "kalimantanutara")
}


def letters(name: str) -> str:
    """A name as people mean it: "Dp3ap2kb", "DP3A-P2KB" and "DP3AP2KB" are one agency."""
    return "".join(c for c in name.casefold() if c.isalnum())


def is_ours(name: str) -> bool:
    """Whether a name is Dinas Sosial's own, however it is written."""
    return letters(" ".join(str(name or "").split())) in OUR_NAMES
