"""Utility metrics comparing synthetic data with the real data."""
