"""The few errors the assistant raises on purpose.

Library code raises these; only the CLI and the UI turn them into messages for people.
Every message says how to fix the problem.
"""


class AssistantError(Exception):
    """Base class: anything the user can act on."""


class CorpusError(AssistantError):
    """The corpus folder is missing or holds no usable document."""


class DocumentError(AssistantError):
    """One corpus file could not be read (empty, binary, undecodable). The build skips it."""


class IndexMissingError(AssistantError):
    """No index has been built yet."""


class IndexStaleError(AssistantError):
    """The index was built from another corpus, model or format version."""


class IndexCorruptError(AssistantError):
    """An index file is missing, truncated or does not agree with the manifest."""


class QuestionError(AssistantError):
    """The question cannot be answered as typed (empty, too long, binary junk)."""
