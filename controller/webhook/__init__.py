"""The admission webhook server: HTTPS, AdmissionReview v1, its certificates and its
registration with the API server (docs/behavior/admission.md#webhooks).

The rules themselves are the kinds' (``builder.admits``) and run in
``controller.reconcilers.framework.admission``; this package only serves them.
"""
