"""Evidence on the case file: what ties the media pipeline to a case.

``media`` stores, analyses and judges files and knows no other domain; this package claims the
capture nonce, records evidence, verdicts and refusals on the case's audit chain under the case
lock, and checks that storage and the database account for each other.
"""
