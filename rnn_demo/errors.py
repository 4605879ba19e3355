"""The one base class of errors whose message is meant for people.

A bad hyperparameter, an unreadable data file, a GPU that is not there, a
refused model file: each is a subclass of :class:`UserError`, raised with a
sentence that names the value, the file or the limit. The app shows such a
message as it is and the CLI prints it on one line; any other exception is a
bug and keeps its traceback.
"""


class UserError(Exception):
    """An error whose message tells a person what was wrong and what to do."""
