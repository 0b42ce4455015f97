"""Find a known person in free text: every mention of their e-mail addresses, phone numbers
and name (with its variants), with the passage around it.

Exact multi-pattern search (Aho-Corasick, ``pyahocorasick``) over folded text
(:mod:`privacyops.text.fold`), never a model: a mention written in any of the forms below is
found, whatever its case, diacritics or line breaks.

- e-mail: the address as :func:`privacyops.identities.email_key` keys it, not inside a longer
  address;
- phone: the number's national digits, in any grouping (spaces, dots, dashes, brackets),
  preceded by nothing, a trunk ``0``, the country code, ``+`` or ``00`` and the country code;
- name: ``Ann Smith``, ``Smith Ann``, ``Smith, Ann``, ``A. Smith``, ``A Smith``, ``Ms Smith``
  (and the other titles), with every middle name or without, diacritics folded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import ahocorasick
import phonenumbers

from privacyops.identities import email_key, phone_number
from privacyops.text.fold import fold, fold_with_map
from privacyops.text.sources import TextDoc

__all__ = ["Mention", "Person", "PersonMatcher", "find"]

TITLES = ("mr", "mr.", "mrs", "mrs.", "ms", "ms.", "miss", "dr", "dr.", "prof", "prof.")
_EMAIL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.!#$%&'*+/=?^_`{|}~-")
_PHONE_RUN = re.compile(r"\+?\d[\d \-.()/\u00a0]*\d")
PASSAGE = 80  # characters of context on each side of a mention


@dataclass(frozen=True)
class Person:
    """Who to look for: any of their e-mail addresses, phone numbers (E.164, or national with
    ``region``) and names."""

    emails: Sequence[str] = ()
    phones: Sequence[str] = ()
    names: Sequence[str] = ()
    region: str | None = None


@dataclass(frozen=True)
class Mention:
    """Where a person appears: the document, the character span, what matched (``email``,
    ``phone`` or ``name``) and the passage around it."""

    source: str
    doc_id: str
    start: int
    end: int
    kind: str
    passage: str

    def to_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "id": self.doc_id,
            "start": self.start,
            "end": self.end,
            "kind": self.kind,
            "passage": self.passage,
        }


def name_variants(name: str) -> set[str]:
    """The folded spellings a name is searched for in."""
    parts = [p for p in re.split(r"[\s,]+", fold(name)) if p]
    if not parts:
        return set()
    if len(parts) == 1:
        return {parts[0]}
    out: set[str] = set()
    # Where the given names end is not known ("Lucie De Oliveira", "Anna Maria Berg"): every
    # split of the parts into given names and surname counts.
    for split in range(1, len(parts)):
        given, surname = parts[:split], " ".join(parts[split:])
        for first in {" ".join(given), given[0]}:
            out.add(f"{first} {surname}")
            out.add(f"{surname} {first}")
            out.add(f"{surname}, {first}")
        initials = [" ".join(f"{g[0]}." for g in given), f"{given[0][0]}.", given[0][0]]
        out.update(f"{i} {surname}" for i in initials)
        out.update(f"{t} {surname}" for t in TITLES)
    out.add(" ".join(parts))
    return out


@dataclass
class PersonMatcher:
    """The compiled search for one :class:`Person` (build once, run over many texts)."""

    person: Person
    _automaton: ahocorasick.Automaton = field(init=False, repr=False)
    _phones: dict[str, frozenset[str]] = field(init=False, repr=False)
    _empty: bool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        automaton = ahocorasick.Automaton()
        for address in self.person.emails:
            key = email_key(address)
            automaton.add_word(key, ("email", len(key)))
        for name in self.person.names:
            for variant in name_variants(name):
                automaton.add_word(variant, ("name", len(variant)))
        self._empty = len(automaton) == 0
        if not self._empty:
            automaton.make_automaton()
        self._automaton = automaton
        phones: dict[str, frozenset[str]] = {}
        for value in self.person.phones:
            number = phonenumbers.parse(phone_number(value, self.person.region), None)
            national = phonenumbers.national_significant_number(number)
            cc = str(number.country_code)
            phones[national] = frozenset({"", "0", cc, f"00{cc}", f"{cc}0", f"00{cc}0"})
        self._phones = phones

    def spans(self, text: str) -> Iterator[tuple[int, int, str]]:
        """``(start, end, kind)`` of every mention in ``text``, in order of their end."""
        if not self._empty:
            yield from self._text_spans(text)
        if self._phones:
            yield from self._phone_spans(text)

    def _text_spans(self, text: str) -> Iterator[tuple[int, int, str]]:
        folded, where = fold_with_map(text)
        n = len(folded)
        for end, (kind, length) in self._automaton.iter(folded):
            start = end - length + 1
            before = folded[start - 1] if start > 0 else " "
            after = folded[end + 1] if end + 1 < n else " "
            if kind == "email":
                if before in _EMAIL_CHARS or (after in _EMAIL_CHARS and after != "."):
                    continue
                if after == "." and end + 2 < n and folded[end + 2].isalnum():
                    continue  # ann@acme.example.org is another address
            elif before.isalnum() or after.isalnum():
                continue
            if where is None:
                yield start, end + 1, kind
            else:
                yield where[start], where[end] + 1, kind

    def _phone_spans(self, text: str) -> Iterator[tuple[int, int, str]]:
        for run in _PHONE_RUN.finditer(text):
            chunk = run.group()
            positions = [i for i, c in enumerate(chunk) if c.isdigit()]
            digits = "".join(chunk[i] for i in positions)
            for national, prefixes in self._phones.items():
                at = digits.find(national)
                while at >= 0:
                    tail = at + len(national)
                    if _ends(chunk, positions, tail) and (
                        digits[:at] in prefixes or _ends(chunk, positions, at)
                    ):
                        first = positions[at]
                        # keep the "+" or "(" of the prefix with the mention
                        start = run.start() + (0 if at else first)
                        yield start, run.start() + positions[tail - 1] + 1, "phone"
                    at = digits.find(national, at + 1)

    def mentions(self, doc: TextDoc) -> list[Mention]:
        """The mentions in one document, in text order, with their passages."""
        text = doc.text
        found = sorted(set(self.spans(text)))
        return [
            Mention(
                source=doc.source,
                doc_id=doc.doc_id,
                start=start,
                end=end,
                kind=kind,
                passage=text[max(0, start - PASSAGE) : end + PASSAGE],
            )
            for start, end, kind in found
        ]


def _ends(chunk: str, positions: list[int], at: int) -> bool:
    """Whether a number may end before digit ``at`` of a run: the run ends there, or a space or
    slash parts two numbers there (``22 00 00 00 / 23 45 67 89``)."""
    if at in (0, len(positions)):
        return True
    gap = chunk[positions[at - 1] + 1 : positions[at]]
    return "/" in gap or "  " in gap


def find(docs: Iterable[TextDoc], person: Person) -> Iterator[Mention]:
    """Every mention of ``person`` in ``docs``."""
    matcher = PersonMatcher(person)
    for doc in docs:
        yield from matcher.mentions(doc)
