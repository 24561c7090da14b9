"""The machinery behind the shared fixtures of ``tests/conftest.py``, one module per job.

- :mod:`tests.harness.databases`: a migrated template database per run, a fresh copy per test.
- :mod:`tests.harness.apps`: the one way to build and serve the app (``apps``, ``client``,
  ``live_app``).
- :mod:`tests.harness.browsers`: the one Chromium launcher and the applicant and staff pages
  (``browser``, ``shots``).
- :mod:`tests.harness.outbox`: driving a served app's outbox by hand.

Records (staff, applications, cases walked to any state) are made by :mod:`tests.factories`.
Test modules import helpers from here, from ``tests.factories``, from ``tests.standins`` and
from their own package's helper modules, never from another test module.
"""
