"""The steps of a request, one module per step (the GDPR article cited in each).

A step is a function of a :class:`~privacyops.rights.steps.base.Step` that does its work in
the transaction the engine (:mod:`privacyops.rights.engine`) opened, sets the request's
:class:`~privacyops.rights.outcome.Outcome`, and returns what its audit event records; it may
raise :class:`~privacyops.rights.steps.base.Wait` (a staff decision first) or
:class:`~privacyops.rights.steps.base.Pending` (other systems first).
:data:`~privacyops.rights.steps.registry.STEPS` maps the step names of
:data:`~privacyops.rights.workflow.PLANS` to them.

Nothing is imported here, so that :mod:`privacyops.rights.systems` and the step modules can
import :mod:`~privacyops.rights.steps.base` without loading every step.
"""
