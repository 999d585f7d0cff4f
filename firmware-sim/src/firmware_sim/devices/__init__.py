"""Simulated devices: each owns one link and answers on it as the real firmware would."""
