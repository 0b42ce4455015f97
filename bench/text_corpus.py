"""A labelled synthetic corpus of business texts for ``python -m bench text``.

Faker in several locales writes e-mails, chats, call notes, signatures and forms; every piece
of personal data put in is recorded as a gold span (Presidio's labels). Each text also mentions
one of a small pool of *known people* in one of the forms people write them (phone in national
or international format, name reversed, initials, upper case, diacritics folded): the gold
mentions for the known-person search. Generated at bench time with a fixed seed.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field

import phonenumbers
from faker import Faker

LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "no_NO")
_REGIONS = {"en_US": "US", "en_GB": "GB", "de_DE": "DE", "fr_FR": "FR", "no_NO": "NO"}
_SAMPLE_PHONES = {
    "US": "+1 212 555 {:04d}",
    "GB": "+44 20 7946 {:04d}",
    "DE": "+49 30 1234{:04d}",
    "FR": "+33 1 42 68 {:04d}",
    "NO": "+47 22 34 {:04d}",
}


@dataclass
class Text:
    text: str = ""
    spans: list[tuple[int, int, str]] = field(default_factory=list)
    known: list[tuple[int, int]] = field(default_factory=list)
    person: int = -1

    def add(self, piece: str, label: str | None = None, known: bool = False) -> None:
        start = len(self.text)
        self.text += piece
        if label:
            self.spans.append((start, len(self.text), label))
        if known:
            self.known.append((start, len(self.text)))


@dataclass(frozen=True)
class KnownPerson:
    first: str
    last: str
    email: str
    phone: str  # E.164
    region: str


_STYLES = [
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.NATIONAL,
    phonenumbers.PhoneNumberFormat.E164,
]


def _phone(fake: Faker, region: str, rng: random.Random) -> str:
    number = phonenumbers.parse(_SAMPLE_PHONES[region].format(rng.randrange(10_000)), None)
    style = rng.choice(
        [
            phonenumbers.PhoneNumberFormat.INTERNATIONAL,
            phonenumbers.PhoneNumberFormat.NATIONAL,
            phonenumbers.PhoneNumberFormat.E164,
        ]
    )
    return phonenumbers.format_number(number, style)


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def known_people(count: int, seed: int) -> list[KnownPerson]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        locale = LOCALES[i % len(LOCALES)]
        fake = Faker(locale)
        fake.seed_instance(seed + i)
        first, last = fake.first_name(), fake.last_name()
        region = _REGIONS[locale]
        e164 = phonenumbers.format_number(
            phonenumbers.parse(_SAMPLE_PHONES[region].format(rng.randrange(10_000)), None),
            phonenumbers.PhoneNumberFormat.E164,
        )
        email = f"{_fold(first).lower()}.{_fold(last).lower()}{i}@{fake.free_email_domain()}"
        out.append(KnownPerson(first, last, email.replace(" ", ""), e164, region))
    return out


def _known_mention(doc: Text, person: KnownPerson, rng: random.Random) -> None:
    kind = rng.choice(["email", "phone", "name"])
    if kind == "email":
        value = rng.choice([person.email, person.email.upper(), person.email.capitalize()])
        doc.add(value, "EMAIL_ADDRESS", known=True)
        return
    if kind == "phone":
        number = phonenumbers.parse(person.phone, None)
        style = rng.choice(_STYLES)
        value = phonenumbers.format_number(number, style)
        if rng.random() < 0.3:
            value = value.replace(" ", rng.choice([".", "-", ""]))
        doc.add(value, "PHONE_NUMBER", known=True)
        return
    first, last = person.first, person.last
    value = rng.choice(
        [
            f"{first} {last}",
            f"{last}, {first}",
            f"{first[0]}. {last}",
            f"{first} {last}".upper(),
            _fold(f"{first} {last}"),
            f"{first}\n{last}",
        ]
    )
    doc.add(value, "PERSON", known=True)


def _address(doc: Text, fake: Faker, locale: str) -> None:
    street = fake.street_address().replace("\n", ", ")
    if locale == "en_US":
        city = f"{fake.city()}, {fake.state_abbr()} {fake.zipcode()}"
    elif locale == "en_GB":
        city = f"{fake.city()} {fake.postcode()}"
    else:
        city = f"{fake.postcode()} {fake.city()}"
    doc.add(f"{street}\n{city}", "LOCATION")


def _email(doc: Text, fake: Faker, locale: str, rng: random.Random, known: KnownPerson) -> None:
    sender, receiver = fake.name(), fake.name()
    doc.add("From: ")
    doc.add(sender, "PERSON")
    doc.add(" <")
    doc.add(fake.email(), "EMAIL_ADDRESS")
    doc.add(">\nTo: ")
    doc.add(receiver, "PERSON")
    doc.add(" <")
    doc.add(fake.company_email(), "EMAIL_ADDRESS")
    doc.add(f">\nSubject: {fake.sentence(nb_words=4)}\n\nDear ")
    doc.add(receiver.split(" ")[0], "PERSON")
    doc.add(f",\n\n{fake.paragraph(nb_sentences=2)} I spoke with ")
    _known_mention(doc, known, rng)
    doc.add(" yesterday. You can reach me on ")
    doc.add(_phone(fake, _REGIONS[locale], rng), "PHONE_NUMBER")
    doc.add(f". {fake.paragraph(nb_sentences=2)}\n\nKind regards,\n")
    doc.add(sender, "PERSON")
    doc.add("\n")
    doc.add(fake.company(), "ORGANIZATION")
    doc.add("\n")
    _address(doc, fake, locale)
    doc.add("\n")
    doc.add(fake.url(), "URL")
    doc.add("\n")


def _chat(doc: Text, fake: Faker, locale: str, rng: random.Random, known: KnownPerson) -> None:
    agent, customer = fake.name(), fake.name()
    doc.add(f"[{fake.time()[:5]}] ")
    doc.add(customer, "PERSON")
    doc.add(f": hi, {fake.sentence(nb_words=6).lower()} my card ")
    doc.add(fake.credit_card_number(), "CREDIT_CARD")
    doc.add(" was charged twice\n")
    doc.add(f"[{fake.time()[:5]}] ")
    doc.add(agent, "PERSON")
    doc.add(": sorry to hear that. Is your e-mail still ")
    doc.add(fake.email(), "EMAIL_ADDRESS")
    doc.add("?\n")
    doc.add(f"[{fake.time()[:5]}] ")
    doc.add(customer, "PERSON")
    doc.add(": yes. also ask ")
    _known_mention(doc, known, rng)
    doc.add(f", they know. {fake.sentence(nb_words=5)}\n")
    doc.add(f"[{fake.time()[:5]}] ")
    doc.add(agent, "PERSON")
    doc.add(f": {fake.sentence(nb_words=8)}\n")


def _call_note(doc: Text, fake: Faker, locale: str, rng: random.Random, known: KnownPerson) -> None:
    doc.add(f"Call note {fake.date()}. Spoke with ")
    doc.add(fake.name(), "PERSON")
    doc.add(" of ")
    doc.add(fake.company(), "ORGANIZATION")
    doc.add(" (")
    doc.add(_phone(fake, _REGIONS[locale], rng), "PHONE_NUMBER")
    doc.add(f"). {fake.sentence(nb_words=10)} Refund to IBAN ")
    doc.add(fake.iban(), "IBAN_CODE")
    doc.add(". Logged in from ")
    doc.add(rng.choice([fake.ipv4_public(), fake.ipv6()]), "IP_ADDRESS")
    doc.add(". Follow up with ")
    _known_mention(doc, known, rng)
    doc.add(f" next week. {fake.paragraph(nb_sentences=2)}\n")


def _form(doc: Text, fake: Faker, locale: str, rng: random.Random, known: KnownPerson) -> None:
    doc.add("Contact form\nFull name: ")
    doc.add(fake.name(), "PERSON")
    doc.add("\nEmail: ")
    doc.add(fake.email(), "EMAIL_ADDRESS")
    doc.add("\nPhone: ")
    doc.add(_phone(fake, _REGIONS[locale], rng), "PHONE_NUMBER")
    doc.add("\nAddress: ")
    _address(doc, fake, locale)
    doc.add("\nWebsite: ")
    doc.add(fake.url(), "URL")
    doc.add("\nIP: ")
    doc.add(fake.ipv4_public(), "IP_ADDRESS")
    doc.add(f"\nMessage: {fake.paragraph(nb_sentences=3)} Referred by ")
    _known_mention(doc, known, rng)
    doc.add(".\n")


def _signature(doc: Text, fake: Faker, locale: str, rng: random.Random, known: KnownPerson) -> None:
    doc.add(f"{fake.paragraph(nb_sentences=3)} Copy to ")
    _known_mention(doc, known, rng)
    doc.add(".\n\nBest regards,\n")
    doc.add(fake.name(), "PERSON")
    doc.add(f"\n{fake.job()}\n")
    doc.add(fake.company(), "ORGANIZATION")
    doc.add("\nTel: ")
    doc.add(_phone(fake, _REGIONS[locale], rng), "PHONE_NUMBER")
    doc.add("\n")
    doc.add(fake.url(), "URL")
    doc.add("\n")


KINDS = (_email, _chat, _call_note, _form, _signature)


def corpus(count: int, seed: int = 20) -> tuple[list[Text], list[KnownPerson]]:
    """``count`` labelled texts and the known people they mention."""
    rng = random.Random(seed)
    people = known_people(50, seed)
    fakers: dict[str, Faker] = {}
    for locale in LOCALES:
        fakers[locale] = Faker(locale)
        fakers[locale].seed_instance(seed)
    texts = []
    for i in range(count):
        locale = LOCALES[i % len(LOCALES)]
        doc = Text(person=rng.randrange(len(people)))
        KINDS[(i // len(LOCALES)) % len(KINDS)](
            doc, fakers[locale], locale, rng, people[doc.person]
        )
        texts.append(doc)
    return texts, people
