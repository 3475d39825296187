"""`just bench`: our handlers against a conventional baseline and the raw SDK floor, measured."""
