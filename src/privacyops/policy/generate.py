"""Manifests made by program, for tests and benchmarks: a small clean one and large ones.

:func:`minimal_manifest_data` is the smallest manifest the lint passes without a finding;
tests change one field of it to trigger one rule. :func:`synthetic_manifest_data` builds a
large, valid, deterministic manifest (``processors`` processors, ``purposes`` purposes) for
the load-and-lint benchmark.
"""

from __future__ import annotations

import copy
import random
from typing import Any

__all__ = ["minimal_manifest_data", "synthetic_manifest_data"]

_ALL_RIGHTS = [
    ("access", "The right of access"),
    ("rectification", "The right to rectification"),
    ("erasure", "The right to erasure"),
    ("restriction", "The right to restrict processing"),
    ("objection", "The right to object"),
    ("portability", "The right to data portability"),
    ("consent_withdrawal", "Withdrawal of consent"),
    ("complaint", "The right to lodge a complaint"),
]

_MINIMAL: dict[str, Any] = {
    "schema_version": 1,
    "version": {"id": "v1", "label": "Version 1", "order": 1},
    "organization": "Example",
    "entities": [
        {
            "id": "example-as",
            "legal_name": "Example AS",
            "country": "NO",
            "address": "Storgata 1, 0155 Oslo, Norway",
            "roles": ["controller", "contact_point"],
            "contact": {"email": "privacy@example.com"},
        }
    ],
    "dpo": {"name": "Dana Protector", "email": "dpo@example.com"},
    "data_subjects": [{"id": "customer", "name": "Customers", "fides_key": "customer"}],
    "data_categories": [
        {"id": "email", "name": "E-mail", "fides_key": "user.contact.email"},
        {"id": "name", "name": "Name", "fides_key": "user.name"},
    ],
    "purposes": [
        {
            "id": "contract",
            "name": "Perform the contract",
            "data_use": "essential.service",
            "legal_basis": "contract",
        }
    ],
    "processors": [
        {
            "id": "mailer",
            "name": "Mailer",
            "legal_entity": "Mailer AB",
            "country": "SE",
            "roles": ["email"],
        }
    ],
    "recipients": [
        {"id": "mailer", "name": "Mailer", "kind": "processor", "processors": ["mailer"]}
    ],
    "channels": [
        {
            "id": "customers",
            "name": "Customers",
            "section": "1",
            "data_subjects": ["customer"],
            "categories": ["email", "name"],
            "purposes": ["contract"],
            "processors": ["mailer"],
            "recipients": ["mailer"],
            "retention": {"years": 5, "starts_from": "last_service_delivery"},
        }
    ],
    "security_measures": ["encryption at rest and in transit"],
    "provision_requirement": "The e-mail address and name are needed to enter into and perform "
    "the contract; without them we cannot deliver the service. No law obliges you to give them.",
    "automated_decisions": {"used": False, "profiling": False},
    "rights": {"offered": [{"kind": k, "title": t} for k, t in _ALL_RIGHTS]},
}


def minimal_manifest_data() -> dict[str, Any]:
    """A fresh copy of the smallest manifest with no lint finding."""
    return copy.deepcopy(_MINIMAL)


_COUNTRIES = [("SE", None), ("DE", None), ("CH", None), ("JP", None), ("US", "dpf"), ("US", "scc")]
_ROLES = ["analytics", "crm", "email", "storage", "hosting", "events", "invoicing", "chat"]
_BASES = ["contract", "legitimate_interest", "consent", "legal_obligation"]


def synthetic_manifest_data(
    processors: int = 1000, purposes: int = 200, channels: int = 50, seed: int = 0
) -> dict[str, Any]:
    """A large valid manifest, the same for the same arguments."""
    rnd = random.Random(seed)
    data = minimal_manifest_data()
    data["version"] = {"id": "synthetic", "label": "Synthetic manifest", "order": 1}
    categories = [
        {"id": f"cat-{i}", "name": f"Category {i}", "fides_key": "user.content"} for i in range(60)
    ]
    data["data_categories"] = categories
    data["purposes"] = []
    for i in range(purposes):
        basis = _BASES[i % len(_BASES)]
        purpose: dict[str, Any] = {
            "id": f"purpose-{i}",
            "name": f"Purpose {i}",
            "data_use": "essential.service",
            "legal_basis": basis,
            "categories": [c["id"] for c in rnd.sample(categories, 5)],
        }
        if basis == "legitimate_interest":
            purpose["legitimate_interest"] = f"Interest {i}"
        if basis == "consent":
            purpose["consent_mechanism"] = "checkbox"
        data["purposes"].append(purpose)
    data["processors"] = []
    for i in range(processors):
        country, safeguard = _COUNTRIES[i % len(_COUNTRIES)]
        proc: dict[str, Any] = {
            "id": f"processor-{i}",
            "name": f"Processor {i}",
            "legal_entity": f"Processor {i} Ltd",
            "country": country,
            "roles": [_ROLES[i % len(_ROLES)]],
            "privacy_policy_urls": [f"https://processor-{i}.example.com/privacy"],
        }
        if safeguard:
            proc["transfer_safeguard"] = safeguard
        if i % 10 == 0:
            proc["tracker"] = {"consent_category": "analytics", "legal_basis": "consent"}
        data["processors"].append(proc)
    data["recipients"] = [
        {
            "id": f"recipient-{i}",
            "name": f"Recipient {i}",
            "kind": "processor",
            "processors": [f"processor-{j}" for j in range(i, processors, 50)],
        }
        for i in range(min(50, processors))
    ]
    data["channels"] = []
    for i in range(channels):
        chosen = rnd.sample(data["purposes"], min(8, purposes)) if purposes else []
        cats = sorted({c for p in chosen for c in p["categories"]})
        data["channels"].append(
            {
                "id": f"channel-{i}",
                "name": f"Channel {i}",
                "section": str(i + 1),
                "data_subjects": ["customer"],
                "categories": cats or ["cat-0"],
                "purposes": [p["id"] for p in chosen],
                "processors": [f"processor-{j}" for j in range(i, processors, channels)],
                "recipients": [r["id"] for r in data["recipients"][i % 5 :: 10]],
                "retention": {"years": 1 + i % 7, "starts_from": "collection"},
            }
        )
    return data
