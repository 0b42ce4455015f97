"""Transfer rules (GDPR Chapter V): every third-country transfer has a valid safeguard."""

from __future__ import annotations

from collections.abc import Iterator

from privacyops.policy.adequacy import adequacy
from privacyops.policy.lint.base import Hit, Rule, name_list, register
from privacyops.policy.schema import (
    Manifest,
    Safeguard,
)

# --- transfers (Chapter V) -----------------------------------------------------------------

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


@register
class TransferWithoutSafeguard(Rule):
    id = "transfer-without-safeguard"
    title = "a third-country transfer without a valid safeguard"
    article = "GDPR Art. 44-46; CJEU C-311/18 Schrems II"

    def check(self, m: Manifest) -> Iterator[Hit]:
        covered: set[str] = set()
        for i, t in enumerate(m.transfers):
            who = f"transfer '{t.id}'"
            if t.importer_processor:
                covered.add(t.importer_processor)
                who = f"transfer to {m.processor(t.importer_processor).name}"
            elif t.importer_entity:
                entity = next(e.legal_name for e in m.entities if e.id == t.importer_entity)
                who = f"transfer to {entity}"
            problem = _safeguard_problem(t.destination, t.safeguard)
            if problem:
                yield Hit(
                    ("transfers", i, "safeguard"),
                    f"{who} ({t.destination}): {problem}{_TRANSFER_TAIL}",
                )
        # Processors with the same problem come from one statement of the policy (e.g. "these
        # transfers fall under the terms and privacy policies of these providers"): one
        # finding per problem, naming them all, placed at the first.
        groups: dict[tuple[str, str], list[tuple[int, str]]] = {}
        for i, p in enumerate(m.processors):
            if p.id in covered:
                continue
            for place in dict.fromkeys(x for x in (p.country, *p.data_locations) if x):
                problem = _safeguard_problem(place, p.transfer_safeguard)
                if problem:
                    groups.setdefault((place, problem), []).append((i, p.name))
        for (place, problem), members in groups.items():
            names = [name for _, name in members]
            who = (
                names[0] if len(names) == 1 else f"{len(names)} processors ({name_list(names, 8)})"
            )
            yield Hit(
                ("processors", members[0][0], "transfer_safeguard"),
                f"{who} in {place}: {problem}{_TRANSFER_TAIL}",
            )
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
