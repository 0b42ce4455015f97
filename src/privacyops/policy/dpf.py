"""Which US organisations are certified under the EU-US Data Privacy Framework, as shipped data.

``data/dpf.json`` lists the organisations, the names policies use for them, and the date the
list was last brought up to date (``as_of``). The transfer rules read it: a transfer to a
certified organisation rests on the DPF adequacy decision (GDPR Art. 45) even when the policy
names a wrong safeguard, so the fault is then the notice (Art. 13(1)(f)), not the transfer.
Update the file, not the code, when a certification starts, lapses or is withdrawn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["DpfCertification", "DpfList", "dpf_list"]

DATA_FILE = Path(__file__).parent / "data" / "dpf.json"


@dataclass(frozen=True)
class DpfCertification:
    organisation: str
    aliases: tuple[str, ...]
    source: str

    def cite(self, as_of: str) -> str:
        return (
            f"{self.organisation} is certified under the EU-US Data Privacy Framework "
            f"(DPF list as of {as_of})"
        )


@dataclass(frozen=True)
class DpfList:
    as_of: str
    decision: str
    organisations: tuple[DpfCertification, ...]

    def find(self, legal_entity: str | None) -> DpfCertification | None:
        """The certification of ``legal_entity`` (matched on its name or an alias, ignoring
        case and a trailing full stop), or None."""
        if not legal_entity:
            return None
        wanted = _key(legal_entity)
        for org in self.organisations:
            if wanted in {_key(org.organisation), *(_key(a) for a in org.aliases)}:
                return org
        return None


def _key(name: str) -> str:
    return " ".join(name.casefold().rstrip(".").split())


@lru_cache(maxsize=1)
def dpf_list() -> DpfList:
    """The shipped list, read once."""
    raw = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return DpfList(
        as_of=raw["as_of"],
        decision=raw["decision"],
        organisations=tuple(
            DpfCertification(
                organisation=o["organisation"],
                aliases=tuple(o.get("aliases", [])),
                source=o["source"],
            )
            for o in raw["organisations"]
        ),
    )
