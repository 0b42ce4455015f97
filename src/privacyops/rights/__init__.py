"""Data-subject rights: requests, legal clocks, identity verification, fulfilment, exports.

Public modules: :mod:`privacyops.rights.clocks` (GDPR Art. 12(3) deadlines),
:mod:`privacyops.rights.authorities` (EEA supervisory authorities, Art. 77).
"""
