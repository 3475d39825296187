"""Operator tools that work the same against the local system and a deployed stage (``--aws``)."""
