"""Exception types that the CLI turns into one-line messages and exit code 1."""


class VarflowError(Exception):
    """A problem with the user's inputs or options; the message is shown as one line."""
