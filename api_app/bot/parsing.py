"""Reading `/spent 12,50 food lunch`: an amount, a category by name or prefix, a description."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from api_app.money import CENT, MAX_AMOUNT

# 12 | 12.5 | 12,50 | 1 234,50 is not accepted (no thousands separators): one token.
AMOUNT = re.compile(r"^\d{1,10}([.,]\d{1,2})?$")
DESCRIPTION_MAX_LENGTH = 500


@dataclass(frozen=True)
class Entry:
    amount: Decimal
    category_words: list[str]
    rest: str


def parse_entry(arguments: str) -> Entry | None:
    """`12,50 food lunch at work` -> 12.50, ["food", "lunch", "at", "work"]; None when the
    amount is missing or not a positive amount with at most two decimals."""
    words = arguments.split()
    if len(words) < 2 or not AMOUNT.match(words[0]):
        return None
    try:
        amount = Decimal(words[0].replace(",", "."))
    except InvalidOperation:
        return None
    if not Decimal(0) < amount <= MAX_AMOUNT:
        return None
    return Entry(amount.quantize(CENT), words[1:], " ".join(words[1:]))


@dataclass(frozen=True)
class Match:
    category_id: uuid.UUID | None
    # The words after the category: the description.
    description: str | None
    # When no single category matched: the ones to offer as buttons.
    candidates: list[tuple[uuid.UUID, str]]


def match_category(words: Sequence[str], categories: Sequence[tuple[uuid.UUID, str]]) -> Match:
    """The category the words start with: a whole name, case-insensitively (the longest one, for
    names of several words), else the one name the first word is a prefix of. Several names
    with that prefix: those are the candidates; none: every category is."""
    folded = [word.casefold() for word in words]
    best: tuple[int, uuid.UUID] | None = None
    for category_id, name in categories:
        name_words = name.casefold().split()
        matches = bool(name_words) and folded[: len(name_words)] == name_words
        if matches and (best is None or len(name_words) > best[0]):
            best = (len(name_words), category_id)
    if best is not None:
        return Match(best[1], _description(words[best[0] :]), [])
    prefixed = [(cid, name) for cid, name in categories if name.casefold().startswith(folded[0])]
    if len(prefixed) == 1:
        return Match(prefixed[0][0], _description(words[1:]), [])
    return Match(None, _description(words[1:]), prefixed or list(categories))


def _description(words: Sequence[str]) -> str | None:
    text = " ".join(words).strip()
    return text[:DESCRIPTION_MAX_LENGTH] or None
