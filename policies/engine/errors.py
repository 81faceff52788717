"""What the business-time engine raises: every error is a ValueError with a message a person can act on."""


class BusinessTimeError(ValueError):
    """A business-time computation that cannot be done as asked."""


class InvalidCalendar(BusinessTimeError):
    """A calendar that cannot be used; `problems` lists every reason, one message each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


class RangeTooLong(BusinessTimeError):
    """A range or duration beyond the engine's horizon (20 years), or instants outside years 1800-9000."""


class NoOpening(BusinessTimeError):
    """The calendar has too little opening time within the horizon to count the duration asked for."""
