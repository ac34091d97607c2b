"""Domain errors: their message is written for the user, in Chinese, with what to type instead."""


class UserError(ValueError):
    """Bad input or a refused action; `str(e)` is the reply."""


class NotFound(UserError):
    """A named thing does not exist."""


class Ambiguous(UserError):
    """A name matches several things; `candidates` lists them."""

    def __init__(self, message: str, candidates: list[str]) -> None:
        super().__init__(message)
        self.candidates = candidates


class Forbidden(UserError):
    """The user may not do this."""


class Unsure(UserError):
    """A name matches one thing only loosely, for an act that must not guess; `candidate` is that thing."""

    def __init__(self, message: str, candidate: object) -> None:
        super().__init__(message)
        self.candidate = candidate
