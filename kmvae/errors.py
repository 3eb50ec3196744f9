"""The errors of what a user asked for: the `kmvae` command prints their message on one line and
exits with status 2 instead of a traceback. Each is also the built-in error a Python caller
expects (`ValueError` or `FileNotFoundError`)."""


class UsageError(Exception):
    """A mistake in a request (a name, an option, a missing run or data set) whose message says
    how to fix it."""


class UnknownRecipeError(UsageError, ValueError):
    """No recipe has the name asked for; the message lists the closest names."""


class RunNotFoundError(UsageError, FileNotFoundError):
    """No trained run where one was asked for; the message gives the command that trains it."""


class RunConflictError(UsageError, ValueError):
    """An unfinished run exists with other settings than those asked for."""


class CheckoutRequiredError(UsageError, FileNotFoundError):
    """A command that works only in a source checkout of kmvae (the report generator
    `reproduction/`, the archive `docs/reproduction/`) was run from an installed wheel."""
