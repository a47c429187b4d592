"""Helpers for plugin authors: conformance checks and an isolated plugin manager."""
