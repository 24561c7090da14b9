"""Shared primitives every domain may use and none owns: who acted, what time it is, canonical
JSON, signed webhooks, capped body reading and the reactions registry.

Nothing here imports a domain; a module here does one small job.
"""
