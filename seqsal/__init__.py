"""seqsal: explain DNA sequence models.

Importing seqsal changes nothing global: no seeds, no warnings filters, no pandas options.
"""

__version__ = "0.1.0"

from seqsal.errors import InputError, ModelError, SeqsalError

__all__ = ["InputError", "ModelError", "SeqsalError", "__version__"]
