"""Regulation as code and data, pure and versioned.

This package will hold the GB 3095-2012 concentration limits, the HJ 633-2012 IAQI breakpoints
and AQI categories, the averaging-validity rules, the GB/T 2589 coal-equivalent coefficients and
the HJ 212-2017 packet codec. Each table carries its source, version and effective date, and it
imports no other Lantian package and does no I/O.
"""
