"""Transfer rules (GDPR Chapter V, 13(1)(f)): every third party has a known place, every
third-country transfer a valid safeguard, every SCC an impact assessment; and where the
transfer is covered but the policy names the wrong mechanism, the finding blames the notice."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from privacyops.policy.adequacy import adequacy
from privacyops.policy.dpf import dpf_list
from privacyops.policy.lint.base import Hit, Rule, Severity, name_list, register
from privacyops.policy.schema import (
    Manifest,
    Safeguard,
    TiaOutcome,
    TransferImpactAssessment,
)
from privacyops.policy.source import Loc

_NO_SAFEGUARD = {Safeguard.NONE, Safeguard.UNKNOWN, Safeguard.PROCESSOR_TERMS}


def _safeguard_problem(destination: str, safeguard: Safeguard | None) -> str | None:
    """Why ``safeguard`` does not cover a transfer to ``destination`` (None: it does)."""
    data = adequacy()
    if data.in_eea(destination):
        return None
    decision = data.decision_for(destination)
    if safeguard is None:
        if decision is not None and not decision.certified_only:
            return None  # Art. 45(1): an adequacy decision needs no further safeguard
        if decision is not None:
            return (
                "no safeguard is stated, and the adequacy decision covers certified "
                f"organisations only ({decision.cite()})"
            )
        return "no safeguard is stated and there is no adequacy decision"
    invalid = data.invalidated_safeguard(safeguard.value)
    if invalid is not None:
        return f"the safeguard named is {invalid.cite()}"
    if safeguard is Safeguard.NONE:
        return "the policy states that there is no safeguard"
    if safeguard is Safeguard.UNKNOWN:
        return "the policy does not say which safeguard applies"
    if safeguard is Safeguard.PROCESSOR_TERMS:
        return (
            "the safeguard stated is the recipient's own terms and privacy policy, which is "
            "not an Art. 46 safeguard"
        )
    if safeguard is Safeguard.ADEQUACY and decision is None:
        return "an adequacy decision is claimed, but there is none for this destination"
    if safeguard is Safeguard.DPF and destination != "US":
        return "the Data Privacy Framework covers transfers to the US only"
    return None


_TRANSFER_TAIL = (
    "; a transfer needs an adequacy decision (Art. 45), or SCCs, BCRs or another Art. 46 safeguard"
)


@dataclass(frozen=True)
class _Export:
    """One place data goes outside the EEA, as the manifest states it."""

    loc: Loc
    who: str
    legal_entity: str | None
    destination: str
    safeguard: Safeguard | None
    tia: TransferImpactAssessment | None
    is_processor_field: bool  # stated on a processor (grouped) rather than as a transfer


def _exports(m: Manifest) -> Iterator[_Export]:
    covered: set[str] = set()
    for i, t in enumerate(m.transfers):
        who, entity = f"transfer '{t.id}'", None
        if t.importer_processor:
            covered.add(t.importer_processor)
            p = m.processor(t.importer_processor)
            who, entity = f"transfer to {p.name}", p.legal_entity
        elif t.importer_entity:
            entity = next(e.legal_name for e in m.entities if e.id == t.importer_entity)
            who = f"transfer to {entity}"
        yield _Export(
            ("transfers", i, "safeguard"), who, entity, t.destination, t.safeguard, t.tia, False
        )
    for i, p in enumerate(m.processors):
        if p.id in covered:
            continue
        for place in dict.fromkeys(x for x in (p.country, *p.data_locations) if x):
            yield _Export(
                ("processors", i, "transfer_safeguard"),
                p.name,
                p.legal_entity,
                place,
                p.transfer_safeguard,
                p.tia,
                True,
            )


def _dpf_covers(e: _Export) -> str | None:
    """The DPF certification that covers ``e`` whatever the policy names, cited."""
    if e.destination != "US" or e.safeguard is Safeguard.DPF:
        return None
    listed = dpf_list()
    found = listed.find(e.legal_entity)
    return found.cite(listed.as_of) if found else None


def _grouped(hits: dict[tuple[str, str], list[tuple[Loc, str]]], text: str) -> Iterator[Hit]:
    # Processors with the same problem come from one statement of the policy (e.g. "these
    # transfers fall under the terms and privacy policies of these providers"): one finding
    # per problem, naming them all, placed at the first.
    for (place, problem), members in hits.items():
        names = [name for _, name in members]
        who = names[0] if len(names) == 1 else f"{len(names)} third parties ({name_list(names, 8)})"
        yield Hit(members[0][0], text.format(who=who, place=place, problem=problem))


@register
class TransferWithoutSafeguard(Rule):
    id = "transfer-without-safeguard"
    title = "a third-country transfer without a valid safeguard"
    article = "GDPR Art. 44-46; CJEU C-311/18 Schrems II"

    def check(self, m: Manifest) -> Iterator[Hit]:
        groups: dict[tuple[str, str], list[tuple[Loc, str]]] = {}
        for e in _exports(m):
            problem = _safeguard_problem(e.destination, e.safeguard)
            if not problem or _dpf_covers(e):
                continue
            if e.is_processor_field:
                groups.setdefault((e.destination, problem), []).append((e.loc, e.who))
            else:
                yield Hit(e.loc, f"{e.who} ({e.destination}): {problem}{_TRANSFER_TAIL}")
        yield from _grouped(groups, "{who} in {place}: {problem}" + _TRANSFER_TAIL)
        destinations = {t.destination for t in m.transfers}
        for i, country in enumerate(m.storage_locations):
            if country in destinations:
                continue
            problem = _safeguard_problem(country, None)
            if problem:
                yield Hit(
                    ("storage_locations", i),
                    f"storage of the collected data in {country}: {problem}{_TRANSFER_TAIL}",
                )


@register
class TransferSafeguardMisstated(Rule):
    id = "transfer-safeguard-misstated"
    title = "a covered transfer for which the policy names the wrong safeguard"
    article = "GDPR Art. 13(1)(f), 45"
    severity = Severity.WARNING

    def check(self, m: Manifest) -> Iterator[Hit]:
        groups: dict[tuple[str, str], list[tuple[Loc, str]]] = {}
        for e in _exports(m):
            problem = _safeguard_problem(e.destination, e.safeguard)
            cover = _dpf_covers(e)
            if not problem or not cover:
                continue
            text = (
                f"{cover}, so the transfer itself can rest on that adequacy decision; but {problem}"
            )
            if e.is_processor_field:
                groups.setdefault((e.destination, text), []).append((e.loc, e.who))
            else:
                yield Hit(e.loc, f"{e.who} ({e.destination}): {text}{_NOTICE_TAIL}")
        yield from _grouped(groups, "{who} in {place}: {problem}" + _NOTICE_TAIL)


_NOTICE_TAIL = (
    "; the notice must name the adequacy decision or safeguard the transfer rests on "
    "(Art. 13(1)(f))"
)


@register
class ProcessorWithoutCountry(Rule):
    id = "processor-without-country"
    title = "a third party whose country the policy does not state"
    article = "GDPR Art. 13(1)(f), 30(1)(e), 44"
    severity = Severity.WARNING

    def check(self, m: Manifest) -> Iterator[Hit]:
        placed = {t.importer_processor for t in m.transfers if t.importer_processor}
        missing = [
            (i, p.name)
            for i, p in enumerate(m.processors)
            if p.country is None and not p.data_locations and p.id not in placed
        ]
        if missing:
            names = [name for _, name in missing]
            yield Hit(
                ("processors", missing[0][0], "country"),
                f"{len(names)} third parties ({name_list(names, 8)}) have no country: "
                "whether their data leaves the EEA, and on what safeguard, cannot be told, "
                "and the records of processing cannot name the transfer",
            )


@register
class TransferWithoutImpactAssessment(Rule):
    id = "scc-without-tia"
    title = "SCCs or BCRs with no transfer impact assessment on record"
    article = "GDPR Art. 46(1); CJEU C-311/18 Schrems II §134-135; EDPB Recommendations 01/2020"
    severity = Severity.WARNING

    def check(self, m: Manifest) -> Iterator[Hit]:
        data = adequacy()
        for e in _exports(m):
            if e.safeguard not in (Safeguard.SCC, Safeguard.BCR):
                continue
            decision = data.decision_for(e.destination)
            if data.in_eea(e.destination) or (decision and not decision.certified_only):
                continue
            what = "standard contractual clauses" if e.safeguard is Safeguard.SCC else "BCRs"
            if e.tia is None:
                yield Hit(
                    (*e.loc[:-1], "tia"),
                    f"{e.who} ({e.destination}) relies on {what} with no transfer impact "
                    "assessment on record (date, outcome): the exporter must assess whether "
                    "the law of the destination lets the importer keep the clauses, and add "
                    "supplementary measures or stop the transfer where it does not",
                )
            elif e.tia.outcome is TiaOutcome.NOT_PERMITTED:
                yield Hit(
                    (*e.loc[:-1], "tia", "outcome"),
                    f"{e.who} ({e.destination}): the transfer impact assessment of "
                    f"{e.tia.date.isoformat()} concluded that the transfer must not take "
                    f"place, yet the policy still relies on {what}",
                )
