"""Accountability registers a DPO keeps to demonstrate compliance (GDPR Art. 5(2)).

:mod:`.breaches` is the personal-data breach register (Art. 33, 34; EDPB Guidelines 9/2022):
incidents, who they affect (counted from the registry), the 72-hour clock (:mod:`.clock`), the
risk assessment (:mod:`.risk`), the authority's notification (:mod:`.notification`, PDF in
:mod:`.pdf`) and the letters to the people affected (:mod:`.letters`).

The package sits beside ``consent`` and ``intake``: it reads the policy, the store and writes
the audit log, nothing above. What it needs from higher layers (the lead supervisory authority
from ``rights.authorities``) the caller hands in.
"""

from privacyops.registers.clock import NOTIFICATION_HOURS, notification_deadline

__all__ = ["NOTIFICATION_HOURS", "notification_deadline"]
