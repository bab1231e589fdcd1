"""The one exception type that the CLI turns into a one-line message and a non-zero exit code."""


class MdaugError(Exception):
    """An expected mistake (bad input, bad config, missing file): the message is shown to the user as is.

    It must say what is wrong and how to fix it, on one line.
    """

    exit_code: int = 1


class ConfigError(MdaugError):
    """A config file or override that does not fit the typed config."""

    exit_code = 2
