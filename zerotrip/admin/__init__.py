"""Setting an office up from its pages: departments and who belongs to them, the office
profile, the working calendar, the matters catalogue's local versions, and the record of every
change an administrator made."""
