"""The one kind of error a user can cause: bad options, data, checkpoints or devices.

Every such error's str() is one line naming the option or file, the value and what is allowed;
the command line prints it and exits 2. Anything else is a bug (exit 1).
"""


class InputError(ValueError):
    """Bad user input; str() is the one line shown to the user."""
