"""The one set of test fixtures' machinery, shared by every test package.

- :mod:`tests.harness.databases`: a migrated template database per run, a fresh copy per test.
- :mod:`tests.harness.apps`: the one way to build and serve the app (``apps``, ``client``,
  ``live_app``).
"""
