"""Find everyone's personal data in a text: rules, checksums and patterns, no model.

Labels are Presidio's (:data:`LABELS`). Each detector yields candidate spans with a score; where
two overlap, the more specific label wins (an e-mail address inside a URL is the URL's, a card
number is not also a phone number). Offsets are character offsets into the text as given.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from privacyops.text.checks import iban_valid, luhn_valid

__all__ = ["LABELS", "Span", "scan"]

#: Presidio's entity names, most specific first (the order overlaps are settled in).
LABELS: tuple[str, ...] = (
    "EMAIL_ADDRESS",
    "URL",
    "IBAN_CODE",
    "CREDIT_CARD",
    "IP_ADDRESS",
    "PHONE_NUMBER",
    "LOCATION",
    "ORGANIZATION",
    "PERSON",
)
_RANK = {label: i for i, label in enumerate(LABELS)}


@dataclass(frozen=True, order=True)
class Span:
    """A piece of personal data: ``text[start:end]`` is a ``label`` with confidence ``score``."""

    start: int
    end: int
    label: str
    score: float

    def to_dict(self) -> dict[str, object]:
        return {"start": self.start, "end": self.end, "label": self.label, "score": self.score}


_UP = r"[A-ZÀ-ÖØ-ÞĀ-Ž]"  # a capital letter, Latin scripts
_LOW = r"[a-zß-öø-ÿā-ž'’-]"
_NAME = rf"{_UP}{_LOW}+(?:-{_UP}{_LOW}+)?"
_FULL_NAME = rf"{_NAME}(?: (?:{_UP}\. )?(?:(?:van|von|de|der|da|di|le|la) )?{_NAME}){{1,2}}"

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?![\w-])")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'()\[\]]+[^\s<>\"'()\[\].,;:!?]")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]*\d)")
_IPV6 = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_PHONE = re.compile(
    r"(?<![\w+])(?:\+|00)?\(?\d[\d \-.()/]{5,}\d(?:\s?(?:x|ext\.?)\s?\d{1,5})?(?![\w])"
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{1,2}:\d{2}")
_STREET_WORDS = (
    r"Street|St\.?|Road|Rd\.?|Avenue|Ave\.?|Lane|Ln\.?|Drive|Dr\.?|Court|Ct\.?|Boulevard|"
    r"Blvd\.?|Way|Place|Pl\.?|Square|Sq\.?|Terrace|Close|Crescent|Gardens|Park|Hill|Row|Walk|"
    r"Parkway|Pkwy|Circle|Cir\.?|Trail|Highway|Hwy|Route|Mews|Green|Grove|Rise|View|Ridge|Path"
)
_STREET_EN = re.compile(
    r"\b(?:(?:Flat|Apt\.?|Suite|Unit|Studio) \w+,?\s)?\d{1,5}[A-Za-z]?,? "
    rf"(?:{_UP}[\w'-]*\.? ){{1,3}}"
    rf"(?:{_STREET_WORDS})\b(?:,? (?:Apt\.|Suite|Unit) \w+)?"
)
_STREET_EU = re.compile(
    rf"\b{_UP}[\w'-]*(?:[Ss]tra(?:ß|ss)e|str\.|[Ww]eg|[Gg]asse|[Aa]llee|[Pp]latz|[Rr]ing|"
    rf"[Vv]ei(?:en)?|[Gg]ata|[Gg]ate(?:n)?|[Vv]ägen|[Gg]atan|[Dd]amm|[Uu]fer)"
    rf" \d{{1,4}}[a-zA-Z]?\b(?:,? (?:[A-Z]?\d{{1,3}}|Apt\. \w+))?"
)
_STREET_FR = re.compile(
    r"\b\d{1,4}(?:,| bis,?| ter,?)? (?:rue|avenue|boulevard|chemin|place|allée|impasse|quai|"
    r"route|cours|square|Rue|Avenue|Boulevard|Chemin|Place|Allée|Impasse|Quai|Route)"
    rf"(?: (?:de la|de l'|des|du|de|d')?\s?{_UP}[\w'-]*){{1,3}}"
)
# The line after a street: "Springfield, IL 62704", "75001 Paris", "0150 Oslo", "London SW1A 1AA".
_CITY_LINE = re.compile(
    rf"[,\n] ?(?:{_UP}[\w'. -]*, [A-Z]{{2}} \d{{5}}(?:-\d{{4}})?"
    rf"|(?:[A-Z]{{1,2}}-)?\d{{4,5}} {_UP}[\w'-]*(?: {_UP}[\w'-]*)?"
    rf"|{_UP}[\w'-]*(?: {_UP}[\w'-]*)?,? [A-Z]{{1,2}}\d[A-Z\d]? \d[A-Z]{{2}})"
)
_POSTCODE_CITY = re.compile(rf"\b{_UP}[\w'-]*(?: {_UP}[\w'-]*)?, [A-Z]{{2}} \d{{5}}(?:-\d{{4}})?\b")
_TITLE = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Herr|Frau|Mme|Mlle|Sr|Sra|Fru|Hr)\.? "
    rf"({_NAME}(?: {_NAME}){{0,2}})"
)
_CUE = re.compile(
    rf"(?:\b(?:Dear|Hi|Hello|Hey|Hej|Hallo|Bonjour|Thanks|Thank you|Cheers|Regards|regards|"
    rf"Best|Sincerely|Yours|Greetings|Gruß|Grüße|Cordialement|Mvh|Hilsen|"
    rf"[Nn]ame is|[Nn]ame:|[Ss]poke (?:to|with)|[Cc]alled|[Cc]aller:|[Cc]ustomer:|[Cc]ontact:|"
    rf"[Pp]atient:|[Cc]lient:|[Ff]rom:|[Tt]o:|[Cc]c:|[Ss]igned:|[Aa]gent:|[Tt]his is|"
    rf"[Ff]ull name:|[Ss]ent by|[Cc]ontact person:|[Aa]ttn:?)[,:]?\s+)"
    rf"(?:(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.? )?({_FULL_NAME}|{_NAME})(?![\w])"
)
_ANGLE = re.compile(rf"({_FULL_NAME}) <[^<>\s]+@")
_SPEAKER = re.compile(rf"^(?:\[[^\]\n]{{1,25}}\] )?({_FULL_NAME}):", re.MULTILINE)
_ORG_SUFFIX = (
    r"Inc\.?|Ltd\.?|LLC|L\.L\.C\.|GmbH|AG|ASA|AS|AB|Oy|SA|S\.A\.|SARL|SAS|S\.p\.A\.|SpA|PLC|plc|"
    r"Corp\.?|Corporation|Group|Holdings?|Co\.|KG|BV|B\.V\.|NV|N\.V\.|LLP|Limited|Partners|"
    r"& Co\.?(?: KG)?|and Sons|& Sons|e\.V\.|mbH|Industries|Solutions|Technologies|Consulting|"
    r"Bank|Foundation|University"
)
_ORG = re.compile(
    rf"\b(?:{_UP}[\w'&.-]*(?:,? (?:and |& )?| ?- ?)){{1,4}}(?:{_ORG_SUFFIX})(?![\w])"
    rf"(?: & Co\.(?: KG)?)?"
)


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _emails(text: str) -> Iterator[Span]:
    for m in _EMAIL.finditer(text):
        yield Span(m.start(), m.end(), "EMAIL_ADDRESS", 1.0)


def _urls(text: str) -> Iterator[Span]:
    for m in _URL.finditer(text):
        yield Span(m.start(), m.end(), "URL", 0.9)


def _ips(text: str) -> Iterator[Span]:
    for pattern in (_IPV4, _IPV6):
        for m in pattern.finditer(text):
            try:
                ipaddress.ip_address(m.group())
            except ValueError:
                continue
            yield Span(m.start(), m.end(), "IP_ADDRESS", 0.95)


def _cards(text: str) -> Iterator[Span]:
    for m in _CARD.finditer(text):
        digits = _digits(m.group())
        # Issuer ranges: 2 and 5 (Mastercard), 3 (Amex, Diners, JCB), 4 (Visa), 6 (Discover,
        # Maestro, UnionPay), 1800 and 2131 (JCB's 15-digit numbers).
        issuer = (13 <= len(digits) <= 19 and digits[0] in "23456") or (
            len(digits) == 15 and digits[:4] in ("1800", "2131")
        )
        if issuer and luhn_valid(digits):
            yield Span(m.start(), m.end(), "CREDIT_CARD", 1.0)


def _ibans(text: str) -> Iterator[Span]:
    for m in _IBAN.finditer(text):
        raw = m.group()
        # The pattern may run into the next word: try the longest prefix that checks out.
        ends = [i + 1 for i, c in enumerate(raw) if c != " "]
        for end in reversed(ends):
            if end < 15:
                break
            if (end == len(raw) or raw[end] == " ") and iban_valid(raw[:end].replace(" ", "")):
                yield Span(m.start(), m.start() + end, "IBAN_CODE", 1.0)
                break


def _phones(text: str) -> Iterator[Span]:
    for m in _PHONE.finditer(text):
        value = m.group()
        start, end = m.start(), m.end()
        while value and value[-1] in ").-/ " and value.count("(") <= value.count(")") - 1:
            value, end = value[:-1], end - 1
        if value.startswith("(") and ")" not in value:
            value, start = value[1:], start + 1
        digits = _digits(value)
        if not 7 <= len(digits) <= 16 or _DATE.fullmatch(value.strip()):
            continue
        if value.count(".") == 3 and not value.startswith("+"):
            continue  # an IPv4 address
        grouped = value.startswith(("+", "(", "00")) or any(c in value for c in " -.()")
        yield Span(start, end, "PHONE_NUMBER", 0.75 if grouped else 0.5)


def _locations(text: str) -> Iterator[Span]:
    for pattern in (_STREET_EN, _STREET_EU, _STREET_FR):
        for m in pattern.finditer(text):
            end = m.end()
            city = _CITY_LINE.match(text, end)
            if city is not None:
                end = city.end()
            yield Span(m.start(), end, "LOCATION", 0.85)
    for m in _POSTCODE_CITY.finditer(text):
        yield Span(m.start(), m.end(), "LOCATION", 0.7)


def _organisations(text: str) -> Iterator[Span]:
    for m in _ORG.finditer(text):
        yield Span(m.start(), m.end(), "ORGANIZATION", 0.8)


def _people(text: str) -> Iterator[Span]:
    for pattern, score in ((_TITLE, 0.85), (_CUE, 0.8), (_ANGLE, 0.9), (_SPEAKER, 0.8)):
        for m in pattern.finditer(text):
            yield Span(m.start(1), m.end(1), "PERSON", score)


_DETECTORS = (_emails, _urls, _ibans, _cards, _ips, _phones, _locations, _organisations, _people)


def _settle(spans: Iterable[Span]) -> list[Span]:
    """Keep the most specific of overlapping spans (then the longest), in text order."""
    kept: list[Span] = []
    taken: list[tuple[int, int]] = []
    for span in sorted(spans, key=lambda s: (_RANK[s.label], s.start - s.end, s.start)):
        if any(span.start < e and s < span.end for s, e in taken):
            continue
        kept.append(span)
        taken.append((span.start, span.end))
    return sorted(kept)


def scan(text: str, labels: Iterable[str] | None = None) -> list[Span]:
    """The personal data in ``text``, as spans with Presidio's labels (all, or ``labels``)."""
    wanted = frozenset(labels) if labels is not None else None
    found: list[Span] = []
    for detector in _DETECTORS:
        found.extend(detector(text))
    settled = _settle(found)
    return [s for s in settled if wanted is None or s.label in wanted]
