"""Acting as a processor for other controllers (GDPR Art. 28).

:mod:`privacyops.processor.opendsr` takes access, portability and erasure requests that
controllers send over OpenDSR, runs the connectors on them and reports back;
:mod:`privacyops.processor.keys` holds the RSA key and certificate that sign our answers.
"""
