"""Which country's calendar the legal clock of a request follows (Reg. 1182/71 Art. 3(4)).

Art. 3(4) moves a deadline that falls on a public holiday to the next working day; the
holidays meant are those of a Member State (or EEA state) whose law applies to the controller.
The policy's contact point may sit outside the EEA (versions 1-2 of the seed answer from Minsk),
and Belarusian holidays are no Member State's. So the clock's country is, in this order:

1. the contact point, when it is established in the EEA;
2. the first controller established in the EEA (its main establishment, Art. 4(16));
3. the EEA representative (Art. 27), when the controller has no EEA establishment;
4. any other group entity established in the EEA (an establishment, Art. 3(1));
5. none of these: the contact point's country, with a note that the policy names no EEA
   establishment or representative, so no Member State's calendar can be chosen from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from privacyops.policy.adequacy import adequacy
from privacyops.policy.schema import Entity, EntityRole, Manifest

__all__ = ["ClockCountry", "clock_country"]


@dataclass(frozen=True)
class ClockCountry:
    """The country the clock follows, the entity that gives it and how it was chosen."""

    country: str
    entity: str
    how: str
    note: str | None = None


def clock_country(m: Manifest) -> ClockCountry:
    """The clock's country for manifest ``m`` (see the module text for the order)."""
    data = adequacy()
    point = m.contact_point

    def eea(entities: list[Entity]) -> Entity | None:
        return next((e for e in entities if data.in_eea(e.country)), None)

    if data.in_eea(point.country):
        return ClockCountry(point.country, point.legal_name, "the contact point, in the EEA")
    choices = [
        (m.entities_with(EntityRole.CONTROLLER), "a controller established in the EEA"),
        (m.entities_with(EntityRole.EEA_REPRESENTATIVE), "the EEA representative (Art. 27)"),
        (m.entities, "a group entity established in the EEA"),
    ]
    for entities, how in choices:
        found = eea(entities)
        if found is not None:
            return ClockCountry(
                found.country,
                found.legal_name,
                f"{how}; the contact point ({point.legal_name}, {point.country}) is outside "
                "the EEA",
            )
    return ClockCountry(
        point.country,
        point.legal_name,
        "the contact point",
        note=f"The policy names no establishment or representative in the EEA, so the clock "
        f"follows the contact point's calendar ({point.country}), which may be no Member "
        "State's.",
    )
