"""Intake: personal data handed in through the policy's channels, checked against the manifest.

Public API::

    from privacyops.intake import validate_submission, Submission
"""

from privacyops.intake.submission import Submission, validate_submission

__all__ = ["Submission", "validate_submission"]
