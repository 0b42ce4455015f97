"""Intake: personal data handed in through the policy's channels, checked against the manifest.

Public API::

    from privacyops.intake import validate_submission, CheckedSubmission
"""

from privacyops.intake.submission import CheckedSubmission, validate_submission

__all__ = ["CheckedSubmission", "validate_submission"]
