"""Checks of what a deploy would upload, run here first: the bundles on Lambda's platform."""
