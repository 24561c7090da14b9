"""Telling applicants what happened on their case, by e-mail, SMS or only in the case record."""
