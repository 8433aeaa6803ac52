"""Errors the model layer raises, so callers above can map them to clear messages and status codes."""


class ModelFileError(RuntimeError):
    """A model file is missing, changed, or cannot be built; the message says what to install or supply."""


class ImageError(ValueError):
    """The bytes given are not a usable image; ``code`` is a stable machine-readable reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
