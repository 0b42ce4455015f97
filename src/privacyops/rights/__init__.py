"""Data-subject rights: requests, legal clocks, identity verification, fulfilment, exports.

Callers use :class:`privacyops.rights.service.RightsService` (submit, verify, follow, staff
decisions) and :mod:`privacyops.rights.engine` (``tick``, ``process``: run the steps of
:mod:`privacyops.rights.steps`); :mod:`privacyops.rights.downloads` opens an export's link.
Also public: :mod:`privacyops.rights.clocks` (GDPR Art. 12(3) deadlines),
:mod:`privacyops.rights.authorities` (EEA supervisory authorities, Art. 77). How the parts fit:
``docs/rights.md``.
"""
