"""Typed errors of the standards package.

    StandardsError
    ├── UnknownVersionError      a version id that no table knows
    ├── NoLimitError             no limit in force for a pollutant, averaging and grade on a date
    ├── AmbiguousTableError      two records of equal precedence apply: the data is wrong
    ├── NoBreakpointsError       HJ 633 has no IAQI table for this pollutant and averaging
    ├── SubstituteRequiredError  HJ 633 says to use another averaging's IAQI, which is missing
    ├── InvalidValueError        a negative, infinite or NaN concentration or quantity
    ├── UnknownFlagError         a quality letter outside HJ 212-2017
    └── UnknownCarrierError      no coal-equivalent coefficient for an energy carrier

Each error carries the facts that a rule evaluation or a report needs, not only a sentence.
"""

from datetime import date


class StandardsError(Exception):
    """Base of every error raised by the standards package."""


class UnknownVersionError(StandardsError, KeyError):
    """A version id that is not in the registry."""

    def __init__(self, version_id: str) -> None:
        self.version_id = version_id
        super().__init__(version_id)

    def __str__(self) -> str:
        return f"unknown standard version {self.version_id!r}"


class NoLimitError(StandardsError, LookupError):
    """No limit of an enabled version is in force for this key on this date."""

    def __init__(self, pollutant: str, averaging: str, grade: str, on: date) -> None:
        self.pollutant = pollutant
        self.averaging = averaging
        self.grade = grade
        self.on = on
        super().__init__(
            f"no Grade {grade} {averaging} limit for {pollutant} in force on {on.isoformat()}"
        )


class AmbiguousTableError(StandardsError):
    """Two records of the same precedence apply at once: the tables contradict each other."""

    def __init__(self, what: str, candidates: tuple[str, ...]) -> None:
        self.what = what
        self.candidates = candidates
        super().__init__(f"{what}: equally recent records {', '.join(candidates)}")


class NoBreakpointsError(StandardsError, LookupError):
    """The AQI version has no IAQI breakpoints for this pollutant and averaging."""

    def __init__(self, pollutant: str, averaging: str, version: str) -> None:
        self.pollutant = pollutant
        self.averaging = averaging
        self.version = version
        super().__init__(f"{version} has no {averaging} IAQI breakpoints for {pollutant}")


class SubstituteRequiredError(StandardsError):
    """A concentration above a table that defers to another averaging (HJ 633-2012 Table 1 notes).

    SO2 1-hour above 800 µg/m³ is indexed by its 24-hour mean; O3 8-hour above 800 µg/m³ by its
    1-hour value. Raised when that other concentration was not supplied.
    """

    def __init__(
        self, pollutant: str, averaging: str, concentration: float, use: str, version: str
    ) -> None:
        self.pollutant = pollutant
        self.averaging = averaging
        self.concentration = concentration
        self.use = use
        self.version = version
        super().__init__(
            f"{pollutant} {averaging} {concentration} is above the {version} table: "
            f"its IAQI must come from the {use} concentration, which was not given"
        )


class InvalidValueError(StandardsError, ValueError):
    """A value no computation may take: negative, infinite or not a number."""

    def __init__(
        self, what: str, value: float, expected: str = "a finite non-negative number"
    ) -> None:
        self.what = what
        self.value = value
        super().__init__(f"{what} must be {expected}, got {value!r}")


class UnknownFlagError(StandardsError, ValueError):
    """A data flag that the flag policy does not define."""

    def __init__(self, flag: str) -> None:
        self.flag = flag
        super().__init__(f"unknown data flag {flag!r} (HJ 212-2017 letters: N F M S D C T B)")


class UnknownCarrierError(StandardsError, KeyError):
    """An energy carrier without a coefficient in the table used."""

    def __init__(self, carrier: str, hint: str = "") -> None:
        self.carrier = carrier
        self.hint = hint
        super().__init__(carrier)

    def __str__(self) -> str:
        tail = f"; {self.hint}" if self.hint else ""
        return f"no coal-equivalent coefficient for {self.carrier!r}{tail}"
